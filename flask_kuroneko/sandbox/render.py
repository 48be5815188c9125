"""XML rendering of API answers (spec §2.5, §6.10).

Order: ycfStrCode, orderNo, returnCode, the API's own fields, errorCode, date field(s).
On returnCode=1 the API's own fields are present but empty.
"""
from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from ..yamato.codes import Operation

logger = logging.getLogger(__name__)

PRINT_DATA_FIELDS: tuple[str, ...] = (
    "postCode", "address1", "address2", "name", "claimDate", "buyStore", "hpAddress",
    "telNum", "email", "orderDate", "claimSum", "maturity",
    *(f"{f}{n}" for n in range(1, 11)
      for f in ("itemName", "itemCount", "unitPrice", "subTotal")),
    "accountNo1", "accountNo2", "memberName", "recipient", "buyerName", "buyName",
    "inquiryNo", "upperOcrCode", "lowerOcrCode", "barCode", "billPostCode",
)

SPECIFIC_FIELDS: dict[Operation, tuple[str, ...]] = {
    Operation.AUTHORIZE: ("result",),
    Operation.VERIFY_SMS: ("result",),
    Operation.CREDIT_RESULT: ("result",),
    Operation.STATUS: ("result", "warning"),
    Operation.CANCEL: (),
    Operation.SHIPMENT: (),
    Operation.CHANGE_AMOUNT: (),
    Operation.REISSUE: ("reissueCode",),
    Operation.PRINT_DATA: PRINT_DATA_FIELDS,
}


def render(op: Operation, form: dict[str, str], *, error: str | None = None,
           fields: dict[str, object] | None = None, date_fields: str = "both",
           return_date: str = "", request_date: str = "") -> bytes:
    """The complete response document for one API call."""
    fields = fields or {}
    parts: list[tuple[str, object]] = [
        ("ycfStrCode", form.get("ycfStrCode", "")),
        ("orderNo", form.get("orderNo", "")),
        ("returnCode", "1" if error else "0"),
    ]
    for name in SPECIFIC_FIELDS[op]:
        parts.append((name, "" if error else fields.get(name, "")))
    parts.append(("errorCode", error or ""))
    if date_fields in ("both", "returnDate"):
        parts.append(("returnDate", return_date))
    if date_fields in ("both", "requestDate"):
        parts.append(("requestDate", request_date))
    body = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in parts)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<return>{body}</return>\n'.encode("utf-8")

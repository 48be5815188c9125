"""Yamato's wire format: request dataclasses → form fields, ``<return>`` XML → fields.

Kept apart from ``client.py`` so that building and parsing can be tested (and used for logs)
without any HTTP. Form fields are built in the order of the spec tables; optional values that
are unset are dropped, as the PHP integrations do (spec §2.9, §5).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Mapping, Sequence
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from . import normalize as nz
from .codes import ChangeSendDiv, Operation, ProcessDiv, ReissueContents, ReissueReason, SendDiv
from .datatypes import (AmountChangeRequest, AuthorizationRequest, Destination, Item,
                        ReissueRequest, ShipmentRequest)
from .timezone import JST
from ..errors import MalformedResponseError, ValidationError

logger = logging.getLogger(__name__)

SHIP_WINDOW_DAYS = 90
REDACTED = "********"

# Parameters that carry personal data (request and KAASD response): never logged in clear.
PERSONAL_FIELDS = frozenset({
    "name", "nameKana", "postCode", "address1", "address2", "telNum", "email",
    "sendName", "sendPostCode", "sendAddress1", "sendAddress2", "sendTelNum",
    "buyerName", "billPostCode", "reasonReissueEtc", "ninCode",
})
SECRET_FIELDS = frozenset({"password"})


def redact(fields: Mapping[str, str], *, personal: bool = True) -> dict[str, str]:
    """A copy fit for logs: the password always masked, personal data masked unless told."""
    out = {}
    for key, value in fields.items():
        if key in SECRET_FIELDS or (personal and key in PERSONAL_FIELDS and value):
            out[key] = REDACTED
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- dates


def to_jst(moment: datetime) -> datetime:
    """Naive datetimes are taken as JST already (Yamato's clock)."""
    return moment.replace(tzinfo=JST) if moment.tzinfo is None else moment.astimezone(JST)


def ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def ymdhms(moment: datetime) -> str:
    return to_jst(moment).strftime("%Y%m%d%H%M%S")


def _check_ship_date(ship: date, *, order_date: date | None, today: date, field: str = "shipYmd") -> str:
    if not isinstance(ship, date):
        raise ValidationError(field, "出荷予定日を指定してください。")
    if isinstance(ship, datetime):
        ship = ship.date()
    if order_date is not None and ship < order_date:
        raise ValidationError(field, "出荷予定日は受注日以降の日付にしてください。")
    if ship > today + timedelta(days=SHIP_WINDOW_DAYS):
        raise ValidationError(field, f"出荷予定日は決済依頼日から{SHIP_WINDOW_DAYS}日以内の日付にしてください。")
    return ymd(ship)


# --------------------------------------------------------------------------- form builders


def _code(enum: type, value: object, *, field: str, label: str):
    """An enum member, or a ValidationError naming the allowed values."""
    try:
        return enum(value)
    except (TypeError, ValueError):
        allowed = "、".join(f"{int(m)}:{m.label}" for m in enum)
        raise ValidationError(field, f"{label}は次のいずれかを指定してください: {allowed}") from None


def _items_fields(items: Sequence[Item]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, it in enumerate(items, 1):
        out[f"itemName{n}"] = it.name
        if it.quantity is not None:
            out[f"itemCount{n}"] = str(it.quantity)
        if it.unit_price is not None:
            out[f"unitPrice{n}"] = str(it.unit_price)
        out[f"subTotal{n}"] = str(it.subtotal)
    return out


def _address_fields(post_code: str, address: str, *, prefix: str = "",
                    label: str = "住所", post_label: str = "郵便番号") -> dict[str, str]:
    p = prefix
    a1_key = f"{p}address1" if not p else f"{p}Address1"
    a2_key = f"{p}address2" if not p else f"{p}Address2"
    pc_key = f"{p}postCode" if not p else f"{p}PostCode"
    out = {pc_key: nz.normalize_post_code(post_code, field=pc_key, label=post_label)}
    a1, a2 = nz.split_address(address, field1=a1_key, field2=a2_key, label=label)
    out[a1_key] = a1
    if a2:
        out[a2_key] = a2
    return out


def _destination_fields(dest: Destination) -> dict[str, str]:
    out = {"sendName": nz.normalize_name(dest.name, field="sendName", label="送り先名称")}
    out.update(_address_fields(dest.post_code, dest.address, prefix="send",
                               label="送り先住所", post_label="送り先郵便番号"))
    tel = nz.normalize_phone(dest.tel, field="sendTelNum", label="送り先電話番号", required=False)
    if tel:
        out["sendTelNum"] = tel
    return out


def authorization_fields(req: AuthorizationRequest, *, today: date,
                         cart_code: str | None = None) -> dict[str, str]:
    """KAARA0010 parameters without credentials."""
    order_no = nz.check_order_no(req.order_no)
    send_div = _code(SendDiv, req.send_div, field="sendDiv", label="送り先区分")
    buyer = req.buyer
    fields: dict[str, str] = {"orderNo": order_no}
    if not isinstance(req.order_date, date):
        raise ValidationError("orderYmd", "受注日を指定してください。")
    order_date = req.order_date.date() if isinstance(req.order_date, datetime) else req.order_date
    fields["orderYmd"] = ymd(order_date)
    fields["shipYmd"] = _check_ship_date(req.ship_date, order_date=order_date, today=today)
    fields["name"] = nz.normalize_name(buyer.name)
    kana = nz.normalize_name_kana(buyer.name_kana)
    if kana:
        fields["nameKana"] = kana
    fields.update(_address_fields(buyer.post_code, buyer.address))
    fields["telNum"] = nz.normalize_phone(
        buyer.tel, mobile_only=send_div in (SendDiv.SMS, SendDiv.SMS_VALIDITY))
    email = nz.normalize_email(buyer.email)
    if email:
        fields["email"] = email
    fields["totalAmount"] = str(nz.check_amount(req.total_amount))
    fields["sendDiv"] = str(int(send_div))
    fields.update(_items_fields(nz.normalize_items(req.items, total=req.total_amount)))
    if send_div == SendDiv.GIFT:
        if req.destination is None:
            raise ValidationError("sendName", "送り先区分が「別送・本人送り以外」の場合は送り先を指定してください。")
        fields.update(_destination_fields(req.destination))
    elif req.destination is not None:
        raise ValidationError("sendDiv", "送り先を指定する場合は送り先区分を「別送・本人送り以外（ギフト等）」にしてください。")
    free = nz.normalize_free_text(req.free_text)
    if free:
        fields["billPostCode"] = free
    cart = req.cart_code or cart_code
    if cart:
        fields["cartCode"] = cart
    return fields


def order_fields(order_no: str, *, operation: Operation) -> dict[str, str]:
    """KAARS/KAAST/KAACL/KAASD: only the order number."""
    return {"orderNo": nz.check_order_no(order_no,
                                         allow_underscore=operation != Operation.PRINT_DATA)}


def sms_fields(order_no: str, code: str) -> dict[str, str]:
    """KAASA0020 parameters without credentials."""
    return {"orderNo": nz.check_order_no(order_no), "ninCode": nz.normalize_sms_code(code)}


def shipment_fields(req: ShipmentRequest, *, today: date) -> dict[str, str]:
    """KAASL0010 parameters without credentials."""
    process_div = _code(ProcessDiv, req.process_div, field="processDiv", label="処理区分")
    fields = {"orderNo": nz.check_order_no(req.order_no), "processDiv": str(int(process_div))}
    if process_div == ProcessDiv.CANCEL:
        if req.slip_no or req.before_slip_no or req.ship_date:
            raise ValidationError("paymentNo", "出荷情報の取消では送り状番号・出荷予定日を指定しないでください。")
        return fields
    yamato = process_div in (ProcessDiv.NEW, ProcessDiv.CHANGE)
    fields["paymentNo"] = nz.normalize_slip(req.slip_no, yamato=yamato)
    ship_date = req.ship_date
    if process_div == ProcessDiv.CHANGE:
        fields["beforePaymentNo"] = nz.normalize_slip(req.before_slip_no, yamato=True,
                                                      field="beforePaymentNo", label="変更前送り状番号")
        ship_date = ship_date or today      # EC2/EC3 send today's date with a slip change
    elif req.before_slip_no:
        raise ValidationError("beforePaymentNo", "変更前送り状番号は処理区分「変更登録」のときだけ指定してください。")
    if ship_date is not None:
        # The 90-day window counts from the original payment request, which only Yamato
        # knows; we check the date is real and not absurdly far ahead.
        fields["shipYmd"] = _check_ship_date(ship_date, order_date=None, today=today)
    return fields


# sendDiv values each change API accepts: KAAKK also takes 2 for a スマホタイプ payment (sent
# by WooCommerce and w2); KAARR only 0/1 (spec §3.8; no integration sends 2 there).
AMOUNT_CHANGE_SEND_DIVS = (ChangeSendDiv.SEPARATE, ChangeSendDiv.BUNDLED, ChangeSendDiv.SMS)
REISSUE_SEND_DIVS = (ChangeSendDiv.SEPARATE, ChangeSendDiv.BUNDLED)


def _optional_send_div(value: object, allowed: Sequence[ChangeSendDiv]) -> str | None:
    if value is None:
        return None
    # bool is an int subclass, and KAARA's SendDiv.BUNDLED is also 2 (but means 同梱): both
    # are caller mistakes that would send the wrong 送り先区分, so only plain ints and
    # ChangeSendDiv members are taken.
    foreign_enum = isinstance(value, Enum) and not isinstance(value, ChangeSendDiv)
    if (isinstance(value, bool) or foreign_enum or not isinstance(value, int)
            or value not in allowed):
        choices = "、".join(f"{int(m)}（{m.label}）" for m in allowed)
        raise ValidationError("sendDiv", f"送り先区分は次のいずれかを指定してください: {choices}")
    return str(int(value))


def amount_change_fields(req: AmountChangeRequest, *, today: date) -> dict[str, str]:
    """KAAKK0010 parameters without credentials."""
    fields = {"orderNo": nz.check_order_no(req.order_no, alnum_ends=True)}
    if req.ship_date is not None:
        fields["shipYmd"] = _check_ship_date(req.ship_date, order_date=None, today=today)
    fields.update(_address_fields(req.post_code, req.address))
    fields.update(_items_fields(nz.normalize_items(req.items, total=req.total_amount)))
    fields["totalAmount"] = str(nz.check_amount(req.total_amount))
    send_div = _optional_send_div(req.send_div, AMOUNT_CHANGE_SEND_DIVS)
    if send_div is not None:
        fields["sendDiv"] = send_div
    free = nz.normalize_free_text(req.free_text)
    if free:
        fields["billPostCode"] = free
    return fields


def reissue_fields(req: ReissueRequest, *, today: date) -> dict[str, str]:
    """KAARR0010 parameters without credentials (this API has no requestDate)."""
    contents = _code(ReissueContents, req.contents, field="requestContents", label="ご依頼内容")
    fields = {"orderNo": nz.check_order_no(req.order_no), "requestContents": str(int(contents))}
    if contents == ReissueContents.REISSUE:
        if req.reason is None:
            raise ValidationError("reasonReissue", "請求書再発行の不備事由を選択してください。")
        reason = _code(ReissueReason, req.reason, field="reasonReissue", label="不備事由")
        fields["reasonReissue"] = str(int(reason))
        if reason == ReissueReason.OTHER:
            fields["reasonReissueEtc"] = nz.normalize_reason_text(req.reason_text)
    if req.ship_date is not None:
        fields["shipYmd"] = _check_ship_date(req.ship_date, order_date=None, today=today)
    send_div = _optional_send_div(req.send_div, REISSUE_SEND_DIVS)
    if send_div is not None:
        fields["sendDiv"] = send_div
    fields.update(_address_fields(req.post_code, req.address))
    fields.update(_items_fields(nz.normalize_items(req.items, total=None)))
    free = nz.normalize_free_text(req.free_text)
    if free:
        fields["billPostCode"] = free
    return fields


# --------------------------------------------------------------------------- responses

_BOM = b"\xef\xbb\xbf"


def parse_response(body: bytes | str, *, operation: str, order_no: str | None = None) -> dict[str, str]:
    """``<return>`` document → {element: text}. Refuses DTDs, entities and external references.

    Tolerates a BOM and surrounding whitespace, any content type and empty elements. Anything
    else (not XML, another root, nested or repeated elements) is a MalformedResponseError.
    """
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    data = data.strip()
    if data.startswith(_BOM):
        data = data[len(_BOM):].lstrip()
    if not data:
        raise MalformedResponseError(f"{operation}: empty response body",
                                     operation=operation, order_no=order_no)
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedResponseError(f"{operation}: response refused ({type(exc).__name__}: "
                                     "DTD or entity declarations are not accepted)",
                                     operation=operation, order_no=order_no) from None
    except (ParseError, ValueError) as exc:
        raise MalformedResponseError(f"{operation}: response is not well-formed XML ({exc})",
                                     operation=operation, order_no=order_no) from None
    if root.tag != "return":
        raise MalformedResponseError(f"{operation}: unexpected root element <{root.tag}>",
                                     operation=operation, order_no=order_no)
    fields: dict[str, str] = {}
    for child in root:
        if len(child):
            raise MalformedResponseError(f"{operation}: element <{child.tag}> is not a leaf",
                                         operation=operation, order_no=order_no)
        if child.tag in fields:
            # Which of two returnCode (or result) elements is meant cannot be known: taking
            # either could turn a failure into a success.
            raise MalformedResponseError(f"{operation}: element <{child.tag}> appears twice",
                                         operation=operation, order_no=order_no)
        fields[child.tag] = (child.text or "").strip()
    return fields


def parse_datetime(value: str | None) -> datetime | None:
    """``yyyyMMddHHmmss`` (JST) → aware datetime; None when empty or not a date-time."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=JST)
    except ValueError:
        return None


def returned_at(fields: Mapping[str, str]) -> datetime | None:
    """The processing time: ``returnDate`` when present, else ``requestDate`` (spec §2.5 ⚠)."""
    return parse_datetime(fields.get("returnDate")) or parse_datetime(fields.get("requestDate"))


def parse_items(fields: Mapping[str, str]) -> tuple[Item, ...]:
    """Item lines 1..10 of a KAASD0010 answer."""
    items = []
    for n in range(1, 11):
        name = fields.get(f"itemName{n}", "")
        subtotal = fields.get(f"subTotal{n}", "")
        if not name and not subtotal:
            continue
        items.append(Item(name=name, subtotal=_int_or(subtotal, 0),
                          quantity=_int_or(fields.get(f"itemCount{n}", ""), None),
                          unit_price=_int_or(fields.get(f"unitPrice{n}", ""), None)))
    return tuple(items)


def _int_or(value: str, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

"""Helpers shared by the jobs test modules (not a test module itself).

Everything goes through the real layers: the simple_shop host, the extension, the jobs
engine, the payments pipeline, the real client and the sandbox. Issued files are written the
way B2クラウド writes them (every field quoted, CP932, CRLF), independently of our parser.
"""
from __future__ import annotations

import csv
import io
import itertools
from collections import Counter

import sqlalchemy as sa

from flask_kuroneko import jobs
from flask_kuroneko.b2 import header_row
from flask_kuroneko.jobs import store
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from service_support import MERCHANT, YAMATO, place, slip

#: The spec's test shop (b2-csv §12) as merchant settings.
B2_SETTINGS = {
    "b2_shipper_name": "テスト雑貨店", "b2_shipper_phone": "03-1234-5678",
    "b2_shipper_postal_code": "150-0001", "b2_shipper_address": "東京都渋谷区神宮前1-2-3",
    "b2_shipper_building": "テストビル5F", "b2_billing_customer_code": "0312345678",
    "b2_freight_no": "01",
}
#: A 送り状番号 with a valid check digit that Yamato refuses (starts with 0000: kaasl015E).
UNUSABLE_SLIP = slip(12345)


def slips(start: int = 45010203040):
    """Valid Yamato numbers, one after the other."""
    n = start
    while True:
        yield slip(n)
        n += 1


_buyers = itertools.count(1)


def authorized(kuroneko, shop: dict, count: int = 1, **order_fields) -> list:
    """``count`` 与信 payments of Yamato-delivery orders (committed). Each order has a buyer
    of its own (the sandbox applies Yamato's per-buyer credit limit); the last four digits
    of the phone stay clear of the sandbox's scenario triggers (99xx)."""
    out = []
    order_fields.setdefault("delivery_method_id", shop["yamato_delivery"])
    for _ in range(count):
        fields = dict(order_fields)
        if "billing" not in fields:
            fields["billing"] = dict(simple_shop.DEFAULT_BILLING,
                                     phone=f"03-{5000 + next(_buyers) % 4000:04d}-1234")
        _, outcome = place(kuroneko, shop["invoice"], **fields)
        assert outcome.kind == "authorized", outcome
        simple_shop.db.session.commit()
        out.append(outcome.payment)
    return out


def ship(payment, carrier: str, tracking_no: str | None = None) -> int:
    """The shop marks the payment's order shipped (without telling the extension); another
    carrier's parcel goes with the shop's other delivery method (M16: an order on a Yamato
    delivery method is never confirmed as another carrier's). Returns the order id."""
    order = simple_shop.db.session.get(simple_shop.ShopOrder, int(payment.host_order_id))
    if carrier != YAMATO:
        M = simple_shop.DeliveryMethod
        order.delivery_method_id = simple_shop.db.session.scalar(
            sa.select(M.id).where(M.name != "宅急便").order_by(M.id).limit(1))
    order.carrier, order.tracking_no, order.status = carrier, tracking_no, simple_shop.SHIPPED
    simple_shop.db.session.commit()
    return order.id


def issued_file(rows: list[tuple[str, str]], *, header: bool = False, encoding: str = "cp932",
                bom: bool = False, newline: str = "\r\n", columns: int = 97) -> bytes:
    """B2's 発行済データ for (お客様管理番号, 伝票番号) rows: every field quoted."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=newline)
    if header:
        writer.writerow(header_row(columns))
    for key, number in rows:
        row = [""] * columns
        row[0], row[1], row[3], row[4] = key, "0", number, "2026/07/01"
        writer.writerow(row)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def multipart(fields: dict[str, str], file_bytes: bytes, file_name: str = "issued.csv",
              field: str = "file") -> dict:
    """Keyword arguments of ``client.post`` for a multipart body built in memory (the test
    client spools a big ``data={...: (BytesIO, name)}`` to a temporary file that nobody
    closes when a view refuses the body unread)."""
    boundary = "kuroneko-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                 f'filename="{file_name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                 + file_bytes + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return {"input_stream": io.BytesIO(body), "content_length": len(body),
            "content_type": f"multipart/form-data; boundary={boundary}"}


def run(job) -> object:
    """Run the job here to the end (the CLI's foreground path)."""
    report = jobs.run_job(job.id, until_finished=True)
    assert report.finished, report
    return store.get_job(job.id)


def items(job) -> list:
    return store.items(job.id)[1]


def outcomes(job) -> dict[str, str]:
    """key -> outcome of every item."""
    return {item.key: item.outcome for item in items(job)}


def yamato_events(simulator, order_no: str) -> Counter:
    tx = simulator.transaction(MERCHANT, order_no)
    return Counter(e["event"] for e in tx["history"])


def history_ok(payment_id: int, label: str = "売上確定") -> int:
    from flask_kuroneko.state import current_state
    H = current_state().models.PaymentHistory
    return len(list(simple_shop.db.session.scalars(
        sa.select(H).where(H.payment_id == payment_id, H.operation == label, H.result == "OK"))))


def use_b2_settings(**extra) -> None:
    save_settings({**B2_SETTINGS, **extra})


__all__ = ["B2_SETTINGS", "UNUSABLE_SLIP", "YAMATO", "authorized", "history_ok", "issued_file",
           "items", "multipart", "outcomes", "run", "ship", "slips", "use_b2_settings",
           "yamato_events"]

"""Helpers shared by the B2 test modules (not a test module itself).

``issue()`` plays B2クラウド's part between our export and our import: it reads an export file
the way B2 does (CP932, positional), gives every row a fresh slip number (one per parcel for
発払い（複数口）, with the parent number as くくりキー, spec §8.2), and writes the 発行済データ
export the way B2 does (every field quoted, optional header). It is independent of the
package's parser: it uses only the csv module and the spec's column numbers.
"""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from typing import Iterator

from flask_kuroneko.b2 import (BillingAccount, ExportSettings, Recipient, Shipment, Shipper,
                               SlipType, header_row)
from flask_kuroneko.b2.layout import COLUMNS
from flask_kuroneko.yamato.tracking import with_check_digit

TODAY = date(2026, 7, 1)
# The spec's test shop (b2-csv §12).
SHIPPER = Shipper(name="テスト雑貨店", phone="03-1234-5678", postal_code="150-0001",
                  address="東京都渋谷区神宮前1-2-3", building="テストビル5F")
BILLING = BillingAccount(customer_code="0312345678", class_code="", freight_no="01")
SETTINGS = ExportSettings(shipper=SHIPPER, billing=BILLING)

E1_RECIPIENT = Recipient(name="山田 花子", phone="090-1111-2222", postal_code="060-0001",
                         address="北海道札幌市中央区北一条西2丁目1-1",
                         building="札幌テストマンション101号室")


def shipment(key: str = "10001", **changes) -> Shipment:
    """The spec's E1 order (発払い, 午前中 on 2026/07/03), with ``changes`` applied."""
    base = Shipment(customer_key=key, slip_type=SlipType.PREPAID, ship_date=TODAY,
                    recipient=E1_RECIPIENT, item_name="手ぬぐい（藍）")
    return replace(base, **changes)


def recipient(**changes) -> Recipient:
    return replace(E1_RECIPIENT, **changes)


def rows_of(data: bytes, *, header: bool = True) -> list[list[str]]:
    """The rows of a CP932 CSV as B2 reads them (header dropped)."""
    text = data.decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[1:] if header else rows


def slip_numbers(start: int = 45010203040) -> Iterator[str]:
    body = start
    while True:
        yield with_check_digit(f"{body:011d}")
        body += 1


def issue(export: bytes, *, header: bool = True, export_header: bool = True,
          numbers: Iterator[str] | None = None, encoding: str = "cp932",
          newline: str = "\r\n") -> tuple[bytes, dict[str, list[str]]]:
    """(B2's issued-data file for ``export``, {key: slips issued}) — see the module docstring."""
    numbers = numbers or slip_numbers()
    issued: dict[str, list[str]] = {}
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=newline)
    source = csv.reader(io.StringIO(export.decode("cp932"), newline=""))
    names = next(source) if export_header else None
    if header:
        writer.writerow(names or header_row())
    for row in source:
        parcels = int(row[37]) if row[1] == SlipType.MULTI_PARCEL.value else 1
        parent = None
        for _ in range(parcels):
            slip = next(numbers)
            parent = parent or slip
            issued_row = list(row)
            issued_row[3] = slip
            if parcels > 1:
                issued_row[73] = parent
            issued.setdefault(row[0], []).append(slip)
            writer.writerow(issued_row)
    return out.getvalue().encode(encoding), issued


# --------------------------------------------------------------------------- issued files

# Valid invented numbers from the spec (mod-7 check digit correct) and one that is not.
T1, T2, T3, T4, T5, T6, T7 = ("450102030405", "450102030416", "450102030420", "450102030431",
                              "450102030442", "390011223346", "390011223350")
BAD_CHECK = "450102030454"


def b2_row(key: str, slip: str, *, slip_type: str = "0", ship: str = "2026/07/01",
           width: int = 97, name: str = "山田 花子") -> list[str]:
    row = [""] * width
    row[0], row[1], row[3] = key, slip_type, slip
    if width > 4:
        row[4] = ship
    if width > 15:
        row[15] = name
    return row


def csv_bytes(rows, *, encoding="cp932", newline="\r\n", quote_all=True) -> bytes:
    def cell(value: str) -> str:
        if quote_all or any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value
    return newline.join(",".join(cell(c) for c in row) for row in rows).encode(encoding) \
        + newline.encode()


# B2's own header spelling (full-width digits, ｅ, 送り状種別, 収納代行決済ＱＲコード印刷).
B2_HEADER = [name.replace("1", "１").replace("2", "２").replace("3", "３")
             .replace("eメール", "ｅメール") for name, _ in COLUMNS]
B2_HEADER[1] = "送り状種別"
B2_HEADER[55] = "収納代行決済ＱＲコード印刷"

"""What the caller hands to the B2 export, and what it gets back.

The caller (the extension's job layer) fills :class:`Shipment` from a payment and its host
order, and :class:`ExportSettings` from the merchant settings. Plain values only — no ORM
objects — so the export stays pure and testable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .layout import COLUMN_COUNTS, Cool, SlipType, TimeSlot


@dataclass(frozen=True)
class Recipient:
    """お届け先. ``address`` runs from the prefecture to the street number; ``building`` holds
    the building and room (B2 prints them on separate lines)."""
    name: str
    phone: str
    postal_code: str
    address: str
    building: str = ""
    company: str = ""           # お届け先会社・部門名1
    department: str = ""        # お届け先会社・部門名2
    name_kana: str = ""         # becomes half-width katakana, or is left out


@dataclass(frozen=True)
class Shipper:
    """ご依頼主: the shop, printed as sender on every slip (merchant settings)."""
    name: str
    phone: str
    postal_code: str
    address: str
    building: str = ""
    name_kana: str = ""


@dataclass(frozen=True)
class BillingAccount:
    """ご請求先: the Yamato freight contract the slips are billed to (merchant settings).
    Not written for 着払い and クロネコゆうメール, which B2 bills differently."""
    customer_code: str          # ご請求先顧客コード, 10–12 digits
    class_code: str = ""        # ご請求先分類コード, 0–3 digits
    freight_no: str = "01"      # 運賃管理番号, 2 digits


@dataclass(frozen=True)
class ExportSettings:
    shipper: Shipper
    billing: BillingAccount
    header: bool = True         # B2's 取込み開始行 defaults to 2, i.e. expects a header row
    columns: int = 97           # 97 (current layout) or 95 (the downloadable template)

    def __post_init__(self) -> None:
        if self.columns not in COLUMN_COUNTS:
            raise ValueError(f"columns must be one of {COLUMN_COUNTS}")


@dataclass(frozen=True)
class Shipment:
    """One slip row. ``customer_key`` is written to お客様管理番号 and comes back unchanged in
    B2's issued data: pass the payment's 決済ID (or 決済ID-N when one order needs several
    rows, e.g. a frozen and an ambient parcel)."""
    customer_key: str
    slip_type: SlipType
    ship_date: date                                 # 出荷予定日 (JST)
    recipient: Recipient
    item_name: str                                  # 品名1
    item_name2: str = ""                            # 品名2
    delivery_date: date | None = None               # お届け予定（指定）日
    time_slot: TimeSlot | None = None               # 配達時間帯
    cool: Cool = Cool.NORMAL
    note: str = ""                                  # 記事
    handling: tuple[str, ...] = ()                  # 荷扱い1, 荷扱い2 (e.g. 「ワレ物注意」)
    parcels: int = 1                                # 発行枚数; 2–99 only with 発払い（複数口）
    notify_email: str = ""                          # お届け予定eメール (required for EAZY)


@dataclass(frozen=True)
class ExportWarning:
    """A change made to a value of an exported row. ``row`` is the 1-based position in the
    list passed to :func:`build_export`; ``message`` is Japanese and may quote a character of
    customer data (show it to the merchant; do not log it above DEBUG)."""
    row: int
    customer_key: str
    column: int
    column_name: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.row}件目（{self.customer_key}）「{self.column_name}」: {self.message}"


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of the file, with every reason (Japanese, each naming its column)."""
    row: int
    customer_key: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.row}件目（{self.customer_key}）: " + " ".join(self.problems)


@dataclass(frozen=True)
class ExportResult:
    data: bytes                                     # the CSV file (CP932, CRLF)
    exported_keys: tuple[str, ...]                  # in file order
    warnings: tuple[ExportWarning, ...] = field(default_factory=tuple)
    rejected: tuple[RejectedRow, ...] = field(default_factory=tuple)

    @property
    def row_count(self) -> int:
        return len(self.exported_keys)

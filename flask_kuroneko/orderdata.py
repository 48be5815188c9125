"""What the host tells the extension about an order (returned by ``@order_describer``).

The extension never imports the host's models: everything it needs to authorize, ship,
change or restore a payment is described here in plain values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Line kinds: only "physical" goods may be paid with 後払い (MANUAL M10).
PHYSICAL = "physical"
DOWNLOAD = "download"
SERVICE = "service"
SUBSCRIPTION = "subscription"
LINE_KINDS = (PHYSICAL, DOWNLOAD, SERVICE, SUBSCRIPTION)


@dataclass
class OrderLine:
    name: str
    quantity: int
    unit_price: int                 # tax included, yen
    kind: str = PHYSICAL

    @property
    def subtotal(self) -> int:
        return self.quantity * self.unit_price


@dataclass
class Adjustment:
    """A non-product amount on the invoice: 送料, 手数料, クーポン値引き (negative) …"""
    name: str
    amount: int


@dataclass
class Address:
    name: str
    postal_code: str
    prefecture: str
    address1: str                   # city, street and number
    address2: str = ""              # building, room
    phone: str | None = None
    name_kana: str | None = None

    @property
    def full_address(self) -> str:
        return f"{self.prefecture}{self.address1}{self.address2}"


@dataclass
class OrderData:
    """A host order as the extension sees it. ``total`` must equal lines + adjustments."""
    order_id: str
    placed_at: datetime
    billing: Address                # the buyer (invoice addressee)
    email: str | None
    lines: list[OrderLine]
    total: int
    adjustments: list[Adjustment] = field(default_factory=list)
    shipping: Address | None = None   # None = goods go to the buyer
    destination_count: int = 1
    delivery_method_id: str | None = None
    carrier: str | None = None        # 配送会社名, e.g. "クロネコヤマト"
    tracking_no: str | None = None    # 送り状番号
    desired_delivery_date: date | None = None
    status: str | None = None         # the host's own status name (対応状況)
    snapshot: dict | None = None      # extra host data kept in 決済直前ログ for order_restorer

    @property
    def computed_total(self) -> int:
        return sum(l.subtotal for l in self.lines) + sum(a.amount for a in self.adjustments)

    @property
    def physical_only(self) -> bool:
        return all(l.kind == PHYSICAL for l in self.lines)

"""Host OrderData → the client's request dataclasses, and back to JSON for the journal.

Its own module (one concern: what we tell Yamato about an order). The journal
stores the exact authorization request it sent, so a retry after "never reached Yamato"
repeats the same orderNo with the same body — Yamato's duplicate check (kaara009E) then makes
the retry harmless even if the first one did arrive after all.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import date
from typing import Any

from ..yamato.codes import ChangeSendDiv, ReissueContents, ReissueReason, SendDiv
from ..yamato.datatypes import (AmountChangeRequest, AuthorizationRequest, Buyer, Destination,
                                Item, ReissueRequest)
from ..orderdata import Address, OrderData

logger = logging.getLogger(__name__)


def items_of(order: OrderData) -> tuple[Item, ...]:
    """購入商品 lines: products with quantity and unit price, then fees/discounts as subtotals."""
    lines = [Item(name=l.name, subtotal=l.subtotal, quantity=l.quantity, unit_price=l.unit_price)
             for l in order.lines]
    lines += [Item(name=a.name, subtotal=a.amount) for a in order.adjustments]
    return tuple(lines)


def _same_place(a: Address, b: Address) -> bool:
    return (a.name.strip(), a.postal_code.replace("-", ""), a.full_address.replace(" ", "")) == \
        (b.name.strip(), b.postal_code.replace("-", ""), b.full_address.replace(" ", ""))


def send_div_for(order: OrderData, *, smartphone: bool) -> SendDiv:
    """sendDiv 3 for スマホタイプ; 1 when the goods go to another address; else 0."""
    if smartphone:
        return SendDiv.SMS
    if order.shipping is not None and not _same_place(order.shipping, order.billing):
        return SendDiv.GIFT
    return SendDiv.SELF


def authorization_request(order: OrderData, *, order_no: str, order_date: date, ship_date: date,
                          sms_phone: str | None = None) -> AuthorizationRequest:
    """KAARA0010 for ``order``; ``sms_phone`` (スマホタイプ) replaces the buyer's phone."""
    send_div = send_div_for(order, smartphone=sms_phone is not None)
    bill = order.billing
    buyer = Buyer(name=bill.name, post_code=bill.postal_code, address=bill.full_address,
                  tel=sms_phone if sms_phone is not None else (bill.phone or ""),
                  name_kana=bill.name_kana, email=order.email)
    destination = None
    if send_div == SendDiv.GIFT:
        ship = order.shipping
        destination = Destination(name=ship.name, post_code=ship.postal_code,
                                  address=ship.full_address, tel=ship.phone)
    return AuthorizationRequest(order_no=order_no, order_date=order_date, ship_date=ship_date,
                                buyer=buyer, total_amount=order.total, items=items_of(order),
                                send_div=send_div, destination=destination)


def amount_change_request(order: OrderData, *, order_no: str,
                          smartphone: bool = False) -> AmountChangeRequest:
    """KAAKK0010 with the host's current lines, total and billing address; a スマホタイプ
    payment sends sendDiv 2 (its invoice goes to the phone), as the WooCommerce and w2
    integrations do."""
    return AmountChangeRequest(order_no=order_no, total_amount=order.total, items=items_of(order),
                               post_code=order.billing.postal_code,
                               address=order.billing.full_address,
                               send_div=ChangeSendDiv.SMS if smartphone else None)


def reissue_request(order: OrderData, *, order_no: str, reason: ReissueReason | int,
                    reason_text: str | None) -> ReissueRequest:
    """KAARR0010 requestContents 1 (the lines must add up to Yamato's current total)."""
    return ReissueRequest(order_no=order_no, contents=ReissueContents.REISSUE,
                          post_code=order.billing.postal_code,
                          address=order.billing.full_address, items=items_of(order),
                          reason=ReissueReason(int(reason)), reason_text=reason_text or None)


# --------------------------------------------------------------------------- journal JSON


def request_to_json(req: AuthorizationRequest) -> dict[str, Any]:
    data = dataclasses.asdict(req)
    data["order_date"] = req.order_date.isoformat()
    data["ship_date"] = req.ship_date.isoformat()
    data["send_div"] = int(req.send_div)
    return data


def request_from_json(data: dict[str, Any]) -> AuthorizationRequest:
    dest = data.get("destination")
    return AuthorizationRequest(
        order_no=data["order_no"], order_date=date.fromisoformat(data["order_date"]),
        ship_date=date.fromisoformat(data["ship_date"]), buyer=Buyer(**data["buyer"]),
        total_amount=int(data["total_amount"]),
        items=tuple(Item(**item) for item in data["items"]),
        send_div=SendDiv(int(data["send_div"])),
        destination=Destination(**dest) if dest else None,
        free_text=data.get("free_text"), cart_code=data.get("cart_code"))

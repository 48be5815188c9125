"""Typed requests and results of the Yamato API client (no Flask, no DB).

Requests carry the merchant's *intent* in plain Python values (``date``, ``int``, one address
string); the client normalises and validates them into Yamato's wire format (spec §2.7–2.10).
Results carry parsed values plus ``raw`` (the response elements, for logs and debugging).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

from .codes import (ChangeSendDiv, CreditDecision, ProcessDiv, ReissueContents, ReissueReason,
                    SendDiv, SmsResult, TransactionStatus, WarningCode)


@dataclass(frozen=True)
class Item:
    """One 購入商品 line. Fee, shipping and discount lines carry only ``subtotal``."""
    name: str
    subtotal: int
    quantity: int | None = None
    unit_price: int | None = None


@dataclass(frozen=True)
class Buyer:
    """The purchaser (invoice addressee). ``address`` starts with the prefecture; the client
    splits it into address1/address2 (25+25 full-width characters)."""
    name: str
    post_code: str
    address: str
    tel: str
    name_kana: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Destination:
    """Goods recipient when it is not the buyer (sendDiv 1)."""
    name: str
    post_code: str
    address: str
    tel: str | None = None


@dataclass(frozen=True)
class AuthorizationRequest:
    """KAARA0010 決済依頼."""
    order_no: str
    order_date: date
    ship_date: date
    buyer: Buyer
    total_amount: int
    items: tuple[Item, ...]
    send_div: SendDiv = SendDiv.SELF
    destination: Destination | None = None
    free_text: str | None = None          # billPostCode (フリー項目)
    cart_code: str | None = None


@dataclass(frozen=True)
class ShipmentRequest:
    """KAASL0010 出荷情報依頼. ``slip_no`` must be None for ProcessDiv.CANCEL."""
    order_no: str
    process_div: ProcessDiv
    slip_no: str | None = None
    ship_date: date | None = None
    before_slip_no: str | None = None


@dataclass(frozen=True)
class AmountChangeRequest:
    """KAAKK0010 請求金額変更: new total and lines, billing address restated.

    ``send_div``: None (not sent), 0 別送, 1 同梱, or 2 for a スマホタイプ payment."""
    order_no: str
    total_amount: int
    items: tuple[Item, ...]
    post_code: str
    address: str
    ship_date: date | None = None
    send_div: ChangeSendDiv | int | None = None
    free_text: str | None = None          # billPostCode (フリー項目)


@dataclass(frozen=True)
class ReissueRequest:
    """KAARR0010 請求書再発行 (contents 1) or its withdrawal (contents 3).

    ``send_div``: None (not sent), 0 別送 or 1 同梱. ``free_text`` (billPostCode) is accepted
    by Yamato only from merchants with the 同梱 contract (kaarr058E otherwise)."""
    order_no: str
    contents: ReissueContents
    post_code: str
    address: str
    items: tuple[Item, ...]
    reason: ReissueReason | None = None
    reason_text: str | None = None
    ship_date: date | None = None
    send_div: ChangeSendDiv | int | None = None
    free_text: str | None = None          # billPostCode (フリー項目)


@dataclass(frozen=True)
class ApiResult:
    """Common part of every successful (returnCode=0) answer."""
    operation: str
    order_no: str
    returned_at: datetime | None
    raw: Mapping[str, str] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class AuthorizationResult(ApiResult):
    decision: CreditDecision = CreditDecision.UNDER_REVIEW


@dataclass(frozen=True)
class CreditResult(ApiResult):
    decision: CreditDecision = CreditDecision.UNDER_REVIEW


@dataclass(frozen=True)
class SmsVerificationResult(ApiResult):
    result: SmsResult = SmsResult.NOT_AWAITING


@dataclass(frozen=True)
class StatusResult(ApiResult):
    status: TransactionStatus = TransactionStatus.APPROVED
    warning: WarningCode = WarningCode.NONE


@dataclass(frozen=True)
class OperationResult(ApiResult):
    """KAACL0010 / KAASL0010 / KAAKK0010: success carries no specific field."""


@dataclass(frozen=True)
class ReissueResult(ApiResult):
    reissue_code: str | None = None


@dataclass(frozen=True)
class InvoicePrintData(ApiResult):
    """KAASD0010: invoice print data for 同梱 orders (spec §3.9)."""
    fields: Mapping[str, str] = field(default_factory=dict)
    items: tuple[Item, ...] = ()

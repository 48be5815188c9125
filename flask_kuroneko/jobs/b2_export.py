"""「B2出荷データ出力」 (M17) from the database: 与信 payments with Yamato delivery → the B2
file (``b2.build_export``), and the record of each download.

Per order: お客様管理番号 = the payment's 決済ID (what the import matches), 送り状種類 and
クール区分 per delivery method (settings ``b2_slip_types``/``b2_cool_methods``), ご依頼主 and
ご請求先 from the settings, 出荷予定日 = the payment's 出荷予定日 (M6: order date + 出荷の期限,
or the desired date) — today when that day has passed (B2 refuses past dates) — お届け先 =
the shipping address (else the buyer), 品名 from the physical lines, お届け予定日 = the desired
date. Orders the file cannot carry are listed with the reason (not Yamato delivery, no such
order, a value B2 would refuse); every change to a written value is a warning.

A download is recorded as a finished job of kind ``b2_export`` (one item per order: exported
with its warnings, rejected or skipped with the reasons), so the admin can show which orders
were exported before and when.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import sqlalchemy as sa

from ..b2 import (BillingAccount, Cool, ExportResult, ExportSettings, Recipient, Shipment,
                  Shipper, SlipType, build_export, summarize_items)
from ..models import PaymentStatus as S
from ..orderdata import PHYSICAL
from ..state import current_state
from ..yamato.timezone import now_jst
from . import dispatch, store
from .outcomes import JobKind, Outcome
from .store import ItemSpec

logger = logging.getLogger(__name__)

#: Most orders one export (or one 「絞り込んだ注文をすべて出力」) takes.
MAX_ORDERS = 5000


@dataclass
class Candidate:
    """A 与信 payment as the export sees it."""
    payment: Any
    data: Any | None                 # OrderData, None when the host has no such order
    reason: str | None = None        # why it cannot be exported (None: it can)
    notes: list[str] = field(default_factory=list)


@dataclass
class ExportOutcome:
    result: ExportResult | None      # None when nothing could be exported
    candidates: list[Candidate]
    rows: list[Candidate]            # candidates passed to the file builder, in row order

    @property
    def skipped(self) -> list[Candidate]:
        return [c for c in self.candidates if c.reason is not None]

    def warnings_for(self, key: str) -> list[str]:
        if self.result is None:
            return []
        return [w.message for w in self.result.warnings if w.customer_key == key]


def export_settings(settings: Any) -> ExportSettings:
    return ExportSettings(
        shipper=Shipper(name=settings.b2_shipper_name, phone=settings.b2_shipper_phone,
                        postal_code=settings.b2_shipper_postal_code,
                        address=settings.b2_shipper_address,
                        building=settings.b2_shipper_building,
                        name_kana=settings.b2_shipper_name_kana),
        billing=BillingAccount(customer_code=settings.b2_billing_customer_code,
                               class_code=settings.b2_billing_class_code,
                               freight_no=settings.b2_freight_no),
        header=settings.b2_header_row, columns=settings.b2_columns)


def today_jst() -> date:
    return now_jst().date()


def authorized_payments(*, since: date | None = None, until: date | None = None,
                        ids: Iterable[int] | None = None, limit: int = MAX_ORDERS) -> list[Any]:
    """与信 payments (nothing in flight), oldest first, by 受注日 range or by id."""
    state = current_state()
    P = state.models.Payment
    query = sa.select(P).where(P.status == S.AUTHORIZED.value, P.open_operation.is_(None))
    if ids is not None:
        query = query.where(P.id.in_([int(i) for i in ids]))
    if since is not None:
        query = query.where(P.order_date >= since)
    if until is not None:
        query = query.where(P.order_date <= until)
    return list(state.db.session.scalars(query.order_by(P.order_date, P.id).limit(limit)))


def candidate(payment: Any, settings: Any) -> Candidate:
    state = current_state()
    order = state.load_order(payment.host_order_id)
    if order is None:
        return Candidate(payment, None, f"注文（{payment.host_order_id}）が見つかりません。")
    data = state.describe(order)
    if not settings.is_yamato_delivery(data.delivery_method_id):
        return Candidate(payment, data, "配送方法が「クロネコヤマト配送」ではないため出力しません。")
    return Candidate(payment, data)


def shipment_for(item: Candidate, settings: Any, today: date) -> Shipment:
    payment, data = item.payment, item.data
    address = data.shipping or data.billing
    method = str(data.delivery_method_id)
    slip_type = SlipType(settings.b2_slip_types.get(method, SlipType.PREPAID.value))
    ship_date = payment.ship_date
    if ship_date < today:
        item.notes.append(f"出荷予定日（{ship_date:%Y/%m/%d}）を過ぎているため、本日の日付で出力しました。")
        ship_date = today
    name1, name2 = summarize_items([line.name for line in data.lines if line.kind == PHYSICAL])
    return Shipment(
        customer_key=payment.order_no, slip_type=slip_type, ship_date=ship_date,
        recipient=Recipient(name=address.name, phone=address.phone or data.billing.phone or "",
                            postal_code=address.postal_code,
                            address=f"{address.prefecture}{address.address1}",
                            building=address.address2 or "", name_kana=address.name_kana or ""),
        item_name=name1, item_name2=name2, delivery_date=data.desired_delivery_date,
        cool=Cool(settings.b2_cool_methods.get(method, Cool.NORMAL.value)),
        notify_email=(data.email or "") if settings.b2_notice_mail else "")


def build(payments: list[Any], *, today: date | None = None) -> ExportOutcome:
    """The file for these payments (``b2.SettingsInvalid`` when ご依頼主/ご請求先 are not
    usable: the settings page lists every problem)."""
    settings = current_state().settings()
    today = today or today_jst()
    candidates = [candidate(p, settings) for p in payments]
    rows = [c for c in candidates if c.reason is None]
    if not rows:
        return ExportOutcome(None, candidates, rows)
    shipments = [shipment_for(c, settings, today) for c in rows]
    result = build_export(shipments, export_settings(settings), today=today)
    return ExportOutcome(result, candidates, rows)


def record(outcome: ExportOutcome, *, actor: str | None, filename: str) -> Any:
    """Remember a downloaded export as a finished ``b2_export`` job (one item per order)."""
    rejected = {r.customer_key: r for r in (outcome.result.rejected if outcome.result else ())}
    specs = []
    for c in outcome.candidates:
        p = c.payment
        spec = ItemSpec(key=p.order_no, payment_id=p.id, order_no=p.order_no,
                        host_order_id=p.host_order_id)
        if c.reason is not None:
            spec.outcome, spec.code, spec.message = Outcome.SKIPPED, "not_exported", c.reason
        elif p.order_no in rejected:
            spec.outcome, spec.code = Outcome.REJECTED, "rejected"
            spec.message = " ".join(rejected[p.order_no].problems)
        else:
            notes = c.notes + outcome.warnings_for(p.order_no)
            spec.outcome, spec.code = Outcome.EXPORTED, "warning" if notes else None
            spec.message = " ".join(notes) or "出力しました。"
        specs.append(spec)
    rows = outcome.result.row_count if outcome.result else 0
    warnings = len(outcome.result.warnings) if outcome.result else 0
    job = store.create(JobKind.B2_EXPORT, specs, created_by=actor, runner=dispatch.WORKER,
                       params={"filename": filename, "rows": rows, "warnings": warnings})
    logger.info("kuroneko B2 export recorded as job %s: %d rows, %d warnings", job.id, rows,
                warnings)
    return job


def filename_for(moment: Any = None) -> str:
    moment = moment or now_jst()
    return f"b2_{moment:%Y%m%d_%H%M%S}.csv"

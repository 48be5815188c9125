"""決済一覧 (M15): every payment with our status, Yamato's 取引状況 and 警報 (with the times we
learned them), the 差異, the 90-day shipment limit and "do not ship"; filters; keyset paging
(listing.py: no COUNT, one query a page from the filter's index); 「取引状況確認」 for the
selected payments.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, redirect, request, url_for

from .. import config, payments
from ..models import KIND_LABELS, STATUS_LABELS, PaymentKind, PaymentStatus
from ..payments import drift
from ..web import parse_ids, safe_path
from ..yamato.codes import TransactionStatus
from . import common
from .forms import ButtonForm
from .listing import Cursor, page_of

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
STATUS_FILTERS = [(s.value, STATUS_LABELS[s]) for s in PaymentStatus]
YAMATO_FILTERS = [(str(int(s)), s.label) for s in TransactionStatus]
DRIFT_FILTERS = [("open", "未確認の差異"), ("all", "差異あり（確認済みを含む）")]
SHORT_KIND = {PaymentKind.INVOICE.value: "払込票", PaymentKind.SMARTPHONE.value: "スマホ"}
MSG_NONE_SELECTED = "取引状況確認する決済を選んでください。"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/payments", "payments", payments_page)
    bp.add_url_rule("/payments/sync", "payments_sync", sync_selection, methods=["POST"])


def filters_from(args) -> dict[str, str]:
    """The list's filters from the query string; unknown values are dropped."""
    found = {"q": (args.get("q") or "").strip()[:64]}
    status, kind = args.get("status") or "", args.get("kind") or ""
    yamato, drift, window = args.get("yamato") or "", args.get("drift") or "", args.get("window")
    found["status"] = status if status in {s.value for s in PaymentStatus} else ""
    found["kind"] = kind if kind in {k.value for k in PaymentKind} else ""
    found["yamato"] = yamato if yamato in dict(YAMATO_FILTERS) else ""
    found["drift"] = "open" if drift == "1" else drift if drift in dict(DRIFT_FILTERS) else ""
    found["window"] = "1" if window == "1" else ""
    return found


def filtered_query(P, f: dict[str, str]):
    query = sa.select(P)
    if f["q"]:
        query = query.where(sa.or_(P.order_no == f["q"], P.host_order_id == f["q"]))
    if f["status"]:
        query = query.where(P.status == f["status"])
    if f["kind"]:
        query = query.where(P.kind == f["kind"])
    if f["yamato"]:
        query = query.where(P.yamato_status == int(f["yamato"]))
    if f["drift"] == "open":
        query = query.where(drift.open_filter(P))
    elif f["drift"] == "all":
        query = query.where(drift.recorded_filter(P))
    if f["window"]:
        query = query.where(payments.ship_window_closing(P))
    return query


def payments_page():
    st = common.state()
    P = st.models.Payment
    f = filters_from(request.args)
    # Near the shipment limit: the most urgent (oldest) first.
    page = page_of(st.db.session, filtered_query(P, f), P.id, Cursor.from_args(request.args),
                   size=PAGE_SIZE, oldest_first=bool(f["window"]))
    active = {k: v for k, v in f.items() if v}
    return common.render(
        "payments.html", page=page, rows=[(p, payments.payment_state(p)) for p in page.rows],
        filters=f, active=active, status_filters=STATUS_FILTERS, yamato_filters=YAMATO_FILTERS,
        drift_filters=DRIFT_FILTERS, short_kind=SHORT_KIND,
        kind_labels={k.value: KIND_LABELS[k] for k in PaymentKind}, button=ButtonForm(),
        here=request.full_path.rstrip("?"))


def sync_selection():
    """「取引状況確認」 of the ticked payments (at most sync_selection.MAX_SELECTION)."""
    form = ButtonForm(request.form)
    if not form.validate():
        return common.csrf_refused()
    back = safe_path(request.form.get("back")) or url_for(".payments")
    ids = parse_ids(request.form.getlist("payment_id"))
    if ids is None:
        common.error("選択の指定が正しくありません。画面を再読み込みしてからやり直してください。")
        return redirect(back)
    if not ids:
        common.error(MSG_NONE_SELECTED)
        return redirect(back)
    report, skipped = payments.sync_selected(ids, concurrency=config.get("BULK_CONCURRENCY"))
    text = (f"「取引状況確認」を{report.asked}件行いました（一致 {report.unchanged}件、"
            f"変更 {report.changed}件、新しい差異 {report.drifts}件）。")
    if skipped:
        text += f"処理中または対象外の{skipped}件は確認しませんでした。"
    if report.unreachable or report.errors:
        common.error(text + f"ヤマトに接続できなかった、またはエラーになった決済が"
                            f"{report.unreachable + report.errors}件あります。")
    else:
        common.info(text)
    return redirect(back)

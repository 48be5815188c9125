"""決済直前ログ (M23): list with 「ログ検索」 by リンクキー, detail, 「受注データ登録」 and
「ログ削除」.

「受注データ登録」 is for the case Yamato has a transaction but the shop lost the order: it
calls the host's ``order_restorer`` with the snapshot and the chosen order date, links the
log (and the payment of that リンクキー, if any) to the new order and commits. It is refused
when an order already exists for the log, so pressing it twice never creates two orders; two
admins pressing it at once are serialised by a conditional UPDATE (the claim) on the log row.
"""
from __future__ import annotations

import logging
import re
from datetime import timezone

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, request, url_for

from ..errors import ConfigurationError
from ..models import utcnow
from ..web import parse_ids
from . import common
from .forms import PLACED_AT_CHOICES, ButtonForm, RestoreForm
from .logs_views import kind_label

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
_FIRST_DIGIT = re.compile(r"[0-9０-９]")


def split_street(address1: str) -> tuple[str, str]:
    """(市区郡町村, 番地) of an ``Address.address1`` for the manual's detail rows: the street
    number starts at the first digit; without one the whole value is the town."""
    match = _FIRST_DIGIT.search(address1 or "")
    if match is None or match.start() == 0:
        return address1 or "", ""
    return address1[:match.start()], address1[match.start():]


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/prepayment", "prepayment", list_page)
    bp.add_url_rule("/prepayment/<kuroneko_id:log_id>", "prepayment_detail", detail_page)
    bp.add_url_rule("/prepayment/<kuroneko_id:log_id>/restore", "prepayment_restore", restore,
                    methods=["POST"])
    bp.add_url_rule("/prepayment/delete", "prepayment_delete", delete, methods=["POST"])


def list_page():
    st = common.state()
    L = st.models.PrepaymentLog
    key = (request.args.get("key") or "").strip()
    query = sa.select(L)
    if key:
        query = query.where(L.order_no == key)
    page = common.int_arg(request.args.get("page"))
    total = st.db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = list(st.db.session.scalars(query.order_by(L.created_at.desc(), L.id.desc())
                                      .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return common.render("prepayment.html", rows=rows, total=total, key=key, page=page,
                         pages=max(1, -(-total // PAGE_SIZE)), button=ButtonForm(),
                         kind_label=kind_label,
                         enabled=st.settings().prepayment_log_enabled)


def _log_or_404(log_id: int):
    st = common.state()
    row = st.db.session.get(st.models.PrepaymentLog, log_id)
    if row is None:
        abort(404)
    return row


def existing_order_id(row) -> str | None:
    """The host order that already stands for this log, if any."""
    if row.restored_order_id:
        return row.restored_order_id
    if row.host_order_id and common.state().load_order(row.host_order_id) is not None:
        return row.host_order_id
    return None


def detail_page(log_id: int):
    row = _log_or_404(log_id)
    st = common.state()
    payment = st.db.session.scalar(sa.select(st.models.Payment).where(
        st.models.Payment.order_no == row.order_no))
    return common.render("prepayment_detail.html", row=row, payment=payment,
                         existing=existing_order_id(row), form=RestoreForm(),
                         placed_at_choices=PLACED_AT_CHOICES,
                         kind_label=kind_label, snapshot=row.snapshot or {},
                         split_street=split_street,
                         enabled=st.settings().prepayment_log_enabled)


def restore(log_id: int):
    form = RestoreForm(request.form)
    if not form.validate():
        return common.csrf_refused()
    st = common.state()
    session, models = st.db.session, st.models
    row = session.get(models.PrepaymentLog, log_id)
    if row is None:
        abort(404)
    back = redirect(url_for(".prepayment_detail", log_id=log_id))
    if not st.settings().prepayment_log_enabled:
        common.error("「決済直前ログより受注データ再作成」を利用しない設定のため、受注データを登録できません。")
        return back
    L = models.PrepaymentLog
    claimed = session.execute(
        sa.update(L).where(L.id == log_id, L.restored_order_id.is_(None), L.restored_at.is_(None))
        .values(restored_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    existing = existing_order_id(row) if claimed else (row.restored_order_id or "登録処理中")
    if existing is not None:
        # claimed == 0: another admin registered it (or is doing so) at this very moment
        session.rollback()
        common.error(f"このログの受注（{existing}）は既に存在するため、受注データを登録できません。")
        return back
    # Naive UTC in our tables; the host gets an aware datetime in Japan time (it converts to
    # whatever its own column stores: a naive value would be ambiguous, docs/integration.md).
    moment = row.created_at if form.placed_at.data != "now" else utcnow()
    placed_at = moment.replace(tzinfo=timezone.utc).astimezone(common.JST)
    try:
        order = st.restore_order(dict(row.snapshot or {}), placed_at)
        new_id = str(st.describe(order).order_id)
    except ConfigurationError as exc:
        session.rollback()
        logger.error("prepayment restore failed: %s", exc)
        common.error("受注データを登録できませんでした（アプリケーションの @kuroneko.order_restorer を確認してください）。")
        return back
    row.restored_order_id, row.restored_at = new_id, utcnow()
    payment = session.scalar(sa.select(models.Payment).where(models.Payment.order_no == row.order_no))
    if payment is not None and st.load_order(payment.host_order_id) is None:
        payment.host_order_id = new_id     # the payment follows the recreated order
    session.commit()
    logger.info("kuroneko admin: order %s restored from pre-payment log %s", new_id, row.order_no)
    common.info(f"受注データを登録しました（注文番号 {new_id}、受注日 {placed_at:%Y-%m-%d %H:%M}）。")
    return back


def delete():
    """「ログ削除」: the ticked logs (``log_id``), or all logs when ``all`` is posted."""
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    st = common.state()
    L = st.models.PrepaymentLog
    ids = parse_ids(request.form.getlist("log_id"))
    if ids is None:     # a crafted or garbled id: delete nothing rather than guess
        common.error("削除するログの指定が正しくありません。画面を再読み込みしてからやり直してください。")
        return redirect(url_for(".prepayment"))
    if ids:
        statement = sa.delete(L).where(L.id.in_(ids))
    elif request.form.get("all") == "1":
        statement = sa.delete(L)
    else:
        common.error("削除するログを選んでください。")
        return redirect(url_for(".prepayment"))
    deleted = st.db.session.execute(statement).rowcount
    st.db.session.commit()
    logger.info("kuroneko admin: %s pre-payment log rows deleted", deleted)
    common.info(f"決済直前ログを{deleted}件削除しました。")
    return redirect(url_for(".prepayment"))

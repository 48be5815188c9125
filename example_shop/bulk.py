"""The demo admin's bulk 「発送済み」 (MANUAL M18): tick orders in the order list, choose
「発送済み」, press 「更新開始」.

The shop sets its own orders' 対応状況 and hands the payments to the extension as one job
(``kuroneko.start_bulk_ship``) instead of sending ``order_status_changed`` per order: the job
captures them in parallel, and its page (the extension's admin) shows which orders were
confirmed and which were skipped and why — a Yamato-delivery order without 送り状番号 is not
confirmed (that goes through B2), nor another carrier without 他社配送オプション.
"""
from __future__ import annotations

import logging

from flask import current_app, flash, redirect, request, url_for

from .admin import admin_required, bp
from .catalog import STATUS_SHIPPED
from .extensions import db, kuroneko
from .forms import CsrfForm
from .models import Order

logger = logging.getLogger(__name__)

BULK_ACTIONS = {STATUS_SHIPPED: "発送済み"}
MAX_ORDERS = 500


@bp.post("/orders/bulk")
@admin_required
def orders_bulk():
    form = CsrfForm(request.form)
    if not form.validate():
        flash("画面の有効期限が切れました。もう一度操作してください。", "error")
        return redirect(url_for(".orders_list"))
    action = request.form.get("bulk_status", "")
    ids = sorted({int(i) for i in request.form.getlist("order_id")[:MAX_ORDERS]
                  if i.isascii() and i.isdigit() and len(i) <= 10})
    if action not in BULK_ACTIONS or not ids:
        flash("注文にチェックを入れ、一括操作を選んでから「更新開始」を押してください。", "error")
        return redirect(url_for(".orders_list"))
    orders = db.session.scalars(db.select(Order).where(Order.id.in_(ids))).all()
    for order in orders:
        order.status = action
    db.session.commit()
    found = [o.id for o in orders]
    logger.info("admin bulk %s: %d orders", action, len(found))
    paid_later = [o.id for o in orders if o.kuroneko_method_id]
    if not paid_later:
        flash(f"{len(found)}件を「{action}」にしました（クロネコ代金後払いの注文はありません）。", "info")
        return redirect(url_for(".orders_list"))
    job = kuroneko.start_bulk_ship(found, actor="shop-admin")
    flash(f"{len(found)}件を「{action}」にしました。クロネコ代金後払いの売上確定を実行中です"
          f"（ジョブ #{job.id}）。", "info")
    if "kuroneko_admin" in current_app.blueprints:
        return redirect(url_for("kuroneko_admin.job", job_id=job.id))
    return redirect(url_for(".orders_list"))

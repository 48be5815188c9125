"""The demo's minimal order admin: order list with 決済ID, payment status (M15) and the
extension's 入金状況 cell; order edit (受注編集) with the lines and 「再計算」, 対応状況 / 配送会社名 /
送り状番号 (a Yamato number checked at the field), the extension's 「決済情報」 panel and its
notices; every save sends the inbound signals; the mail outbox.

Deliberately small: the real payment admin is the extension's admin blueprint.
"""
from __future__ import annotations

import hmac
import logging
from functools import wraps

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)

from flask_kuroneko import signals
from flask_kuroneko.ratelimit import SlidingWindowLimiter
from flask_kuroneko.web import safe_path

from . import orders
from .catalog import ORDER_STATUSES
from .extensions import db, kuroneko
from .forms import AdminLoginForm, AdminOrderForm, CsrfForm, choice, choice_values
from .models import MailMessage, Order

logger = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not session.get("shop_admin"):
            return redirect(url_for(".login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


MSG_LOCKED = ("ログインの失敗が続いたため、一時的にログインを受け付けていません。"
              "{minutes}分ほど待ってから、もう一度お試しください。")


def _login_limiter() -> SlidingWindowLimiter:
    """Failed logins per client address and in total (one admin password to guess)."""
    limiter = current_app.extensions.get("example_shop_login_limiter")
    if limiter is None:
        limiter = current_app.extensions["example_shop_login_limiter"] = SlidingWindowLimiter(
            current_app.config["SHOP_LOGIN_LIMIT"],
            60 * current_app.config["SHOP_LOGIN_LIMIT_MINUTES"])
    return limiter


def _login_keys() -> tuple[str, ...]:
    return (f"addr:{request.remote_addr}",)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = AdminLoginForm(request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        limiter, total = _login_limiter(), _total_limiter()
        if any(limiter.blocked(k) for k in _login_keys()) or total.blocked("all"):
            logger.warning("admin login refused: too many failures (from %s)", request.remote_addr)
            flash(MSG_LOCKED.format(minutes=current_app.config["SHOP_LOGIN_LIMIT_MINUTES"]), "error")
            return render_template("admin/login.html", form=form), 429
        if form.validate():
            expected = current_app.config["SHOP_ADMIN_PASSWORD"]
            if hmac.compare_digest(form.password.data.encode(), expected.encode()):
                session["shop_admin"] = True
                return redirect(safe_path(request.args.get("next")) or url_for(".orders_list"))
            for key in _login_keys():
                limiter.hit(key)
            total.hit("all")
            logger.warning("admin login failed (from %s)", request.remote_addr)
            flash("パスワードが違います。", "error")
            status = 401
    return render_template("admin/login.html", form=form), status


def _total_limiter() -> SlidingWindowLimiter:
    """All failures together, 10x the per-address limit: many addresses cannot guess faster,
    and one admin's typos do not lock out the others."""
    limiter = current_app.extensions.get("example_shop_login_total_limiter")
    if limiter is None:
        limiter = current_app.extensions["example_shop_login_total_limiter"] = SlidingWindowLimiter(
            10 * current_app.config["SHOP_LOGIN_LIMIT"],
            60 * current_app.config["SHOP_LOGIN_LIMIT_MINUTES"])
    return limiter


@bp.post("/logout")
@admin_required
def logout():
    if CsrfForm(request.form).validate():
        session.pop("shop_admin", None)
    return redirect(url_for("shop.index"))


@bp.get("/")
@admin_required
def orders_list():
    status = request.args.get("status") or None
    query = db.select(Order).order_by(Order.id.desc()).limit(PAGE_SIZE)
    if status in ORDER_STATUSES:
        query = query.where(Order.status == status)
    rows = db.session.scalars(query).all()
    standing = kuroneko.payments_for(str(o.id) for o in rows if o.kuroneko_method_id)
    payments = {o.id: standing.get(str(o.id)) for o in rows if o.kuroneko_method_id}
    return render_template("admin/orders.html", orders=rows, payments=payments,
                           statuses=ORDER_STATUSES, current_status=status,
                           payment_admin_url=_payment_admin_url(), bulk_form=CsrfForm())


def _payment_admin_url() -> str | None:
    """The extension's own admin (settings, methods, logs), when it is installed."""
    if "kuroneko_admin" not in current_app.blueprints:
        return None
    return current_app.config["KURONEKO_ADMIN_URL_PREFIX"].rstrip("/") + "/"


@bp.route("/orders/<kuroneko_id:order_id>", methods=["GET", "POST"])
@admin_required
def order_edit(order_id: int):
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    form = AdminOrderForm(request.form) if request.method == "POST" else AdminOrderForm(obj=order)
    if order.status not in choice_values(form.status):
        # e.g. 受付処理中: shown as is, the admin may keep it or move it on.
        form.status.choices = [choice(order.status, order.status)] + list(form.status.choices)
    if request.method == "POST":
        if form.validate():
            old_status = order.status
            changed = (order.carrier != (form.carrier.data or "")
                       or order.tracking_no != (form.tracking_no.data or "").strip())
            order.status = form.status.data
            order.carrier = form.carrier.data or ""
            order.tracking_no = (form.tracking_no.data or "").strip()
            db.session.commit()
            logger.info("admin saved order %s (%s -> %s)", order.id, old_status, order.status)
            # The extension reacts (売上確定, 取消 …) and never breaks this save.
            orders.send_admin_signals(order, old_status, changed)
            flash("受注データを更新しました。", "info")
            return redirect(url_for(".order_edit", order_id=order.id))
    return _order_page(order, form, status=400 if request.method == "POST" else 200)


def _order_page(order: Order, form: AdminOrderForm, *, status: int = 200):
    payment = kuroneko.payment_for(str(order.id)) if order.kuroneko_method_id else None
    mails = db.session.scalars(db.select(MailMessage).where(MailMessage.order_id == order.id)
                               .order_by(MailMessage.id)).all()
    return render_template("admin/order_edit.html", order=order, form=form, payment=payment,
                           mails=mails, lines_form=CsrfForm()), status


@bp.post("/orders/<kuroneko_id:order_id>/lines")
@admin_required
def order_lines(order_id: int):
    """「再計算」: new quantities of the lines, the total recalculated and saved; the extension
    is told (order_updated): the 「決済情報」 panel then shows 利用金額 against the new total."""
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    back = redirect(url_for(".order_edit", order_id=order.id))
    if not CsrfForm(request.form).validate():
        flash("画面の有効期限が切れました。もう一度お試しください。", "error")
        return back
    try:
        changed = orders.recalculate(order, orders.parse_quantities(order, request.form))
    except orders.LineError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    if not changed:
        flash("変更はありません。", "info")
        return back
    db.session.commit()
    logger.info("admin recalculated order %s: total %s", order.id, order.total)
    signals.order_updated.send(current_app._get_current_object(), order=order)
    flash(f"再計算しました（合計 {order.total:,}円）。", "info")
    return back


@bp.get("/mail")
@admin_required
def outbox():
    messages = db.session.scalars(db.select(MailMessage).order_by(MailMessage.id.desc())
                                  .limit(PAGE_SIZE)).all()
    return render_template("admin/outbox.html", messages=messages)

"""Customer pages: catalogue, cart, the three checkout steps, completion and payment error.

Checkout steps keep their answers in the session (``session["checkout"]``); the order row is
only created by 「上記内容で注文する」, under the one-time checkout token.
"""
from __future__ import annotations

import logging
import secrets

from flask import (Blueprint, abort, current_app, flash, get_flashed_messages,
                   has_request_context, redirect,
                   render_template, request, session, url_for)
from sqlalchemy.exc import IntegrityError

from flask_kuroneko import KuronekoError
from flask_kuroneko.checkout import bind_token, ssl_required
from flask_kuroneko.web import parse_id

from . import cart, orders
from .catalog import (BANK_ACCOUNT_TEXT, BANK_TRANSFER, BANK_TRANSFER_NAME, KIND_LABELS,
                      STATUS_CANCELLED, STATUS_PAYMENT_FAILED, STATUS_PROCESSING)
from .extensions import db, kuroneko
from .hooks import describe
from .forms import CartQuantityForm, CsrfForm, choice, CustomerForm, PaymentChoiceForm, PlaceOrderForm
from .models import Order, Product

logger = logging.getLogger(__name__)
bp = Blueprint("shop", __name__)

MY_ORDERS = "my_orders"         # session: ids of the orders placed from this browser
MSG_EXPIRED = "お手続きの有効期限が切れました。お手数ですが、もう一度お試しください。"
MSG_PAYMENT_FAILED = ("お選びいただいたお支払方法ではご注文を承ることができませんでした。"
                      "別のお支払方法をお選びください。")


@bp.app_context_processor
def _globals() -> dict:
    # Also runs for mails rendered by signal receivers outside any request (sweep, CLI).
    return {"cart_count": cart.count() if has_request_context() else 0,
            "kind_labels": KIND_LABELS,
            "sandbox_outbox_url": current_app.config.get("SHOP_SANDBOX_OUTBOX_URL")}


# ------------------------------------------------------------------ catalogue and cart


@bp.get("/")
def index():
    products = db.session.scalars(db.select(Product).where(Product.active.is_(True))
                                  .order_by(Product.id)).all()
    return render_template("shop/index.html", products=products)


@bp.get("/products/<kuroneko_id:product_id>")
def product(product_id: int):
    item = db.session.get(Product, product_id)
    if item is None or not item.active:
        abort(404)
    return render_template("shop/product.html", product=item, form=CartQuantityForm(
        product_id=item.id, quantity=1))


@bp.post("/cart/add")
def cart_add():
    form = CartQuantityForm(request.form)
    product_id = parse_id(form.product_id.data)
    item = db.session.get(Product, product_id) if product_id is not None else None
    if not form.validate() or item is None or not item.active or form.quantity.data < 1:
        flash("カートに追加できませんでした。もう一度お試しください。", "error")
        return redirect(url_for(".index"))
    cart.add(item.id, form.quantity.data)
    flash(f"「{item.name}」をカートに追加しました。", "info")
    return redirect(url_for(".show_cart"))


@bp.get("/cart")
def show_cart():
    lines = cart.lines()
    forms = {l.product.id: CartQuantityForm(product_id=l.product.id, quantity=l.quantity)
             for l in lines}
    return render_template("shop/cart.html", lines=lines, forms=forms, subtotal=cart.subtotal())


@bp.post("/cart/update")
def cart_update():
    form = CartQuantityForm(request.form)
    product_id = parse_id(form.product_id.data)
    if form.validate() and product_id is not None:
        cart.set_quantity(product_id, form.quantity.data)
    else:
        flash("数量を変更できませんでした。0〜99の数字を入力してください。", "error")
    return redirect(url_for(".show_cart"))


# ------------------------------------------------------------------ checkout steps


def _state() -> dict:
    state = session.get("checkout")
    return dict(state) if isinstance(state, dict) else {}


def _save_state(state: dict) -> None:
    session["checkout"] = state


def _preview(state: dict, *, with_payment: bool = False) -> Order:
    """The order the customer is about to place (not added to the session)."""
    payment = state.get("payment", {}) if with_payment else {}
    return orders.build_order(cart.lines(), state["customer"],
                              payment_method=payment.get("method", ""),
                              payment_name=payment.get("name", ""),
                              payment_fee=payment.get("fee", 0))


@bp.route("/checkout", methods=["GET", "POST"])
@ssl_required
def checkout():
    """Step 1: お客様情報・お届け先・配送方法."""
    lines = cart.lines()
    if not lines:
        return redirect(url_for(".show_cart"))
    state = _state()
    delivery = cart.needs_delivery(lines)
    if request.method == "POST":
        form = _customer_form(delivery, request.form)
        if form.validate():
            customer = {name: form[name].data if name in form else ""
                        for name in orders.CUSTOMER_FIELDS}
            desired = form.desired_date.data if delivery else None
            customer["destination"] = customer["destination"] or "self"
            customer["desired_date"] = desired.isoformat() if desired else None
            _save_state({"customer": customer})
            return redirect(url_for(".payment"))
        if form.csrf_failed():
            flash(MSG_EXPIRED, "error")
    else:
        saved = dict(state.get("customer", {}))
        saved.pop("desired_date", None)
        form = _customer_form(delivery, data=saved or None)
    return render_template("shop/checkout.html", form=form, step=1, needs_delivery=delivery)


#: Step-1 fields of a delivery; a download-only cart does not ask them.
DELIVERY_FIELDS = ("destination", "ship_name", "ship_postal_code", "ship_prefecture",
                   "ship_address1", "ship_address2", "ship_phone", "delivery_method",
                   "desired_date")


def _customer_form(delivery: bool, formdata=None, **kwargs) -> CustomerForm:
    form = CustomerForm(formdata, **kwargs)
    if not delivery:
        for name in DELIVERY_FIELDS:
            del form[name]
    return form


@bp.route("/checkout/payment", methods=["GET", "POST"])
@ssl_required
def payment():
    """Step 2: お支払方法. 後払い methods are listed with name, description, fee and, when they
    cannot be used for this order, the reason (M10); 銀行振込 sits beside them."""
    state = _state()
    if not orders.ready_for_payment(cart.lines(), state.get("customer")):
        return redirect(url_for(".checkout"))
    preview = _preview(state)
    offers = kuroneko.available_methods(describe(preview))
    form = PaymentChoiceForm(request.form if request.method == "POST" else None)
    form.payment_method.choices = [choice(BANK_TRANSFER, BANK_TRANSFER_NAME)] + [
        choice(f"kuroneko:{o.method_id}", o.name) for o in offers]
    method_forms = {o.method_id: o.form_class(request.form if request.method == "POST" else None,
                                              **({} if request.method == "POST" else
                                                 state.get("payment", {}).get("form_data") or {}))
                    for o in offers if o.form_class is not None}
    errors: list[str] = []
    if request.method == "GET" and state.get("payment"):
        form.payment_method.data = state["payment"]["method"]
    if request.method == "POST" and form.validate():
        selected = form.payment_method.data
        if selected == BANK_TRANSFER:
            state["payment"] = {"method": BANK_TRANSFER, "name": BANK_TRANSFER_NAME, "fee": 0,
                                "form_data": None}
            _save_state(state)
            return redirect(url_for(".confirm"))
        offer = next(o for o in offers if f"kuroneko:{o.method_id}" == selected)
        errors = _check_kuroneko_choice(state, offer, method_forms.get(offer.method_id))
        if not errors:
            return redirect(url_for(".confirm"))
    elif request.method == "POST" and form.csrf_failed():
        errors = [MSG_EXPIRED]
    return render_template("shop/payment.html", form=form, offers=offers, errors=errors,
                           method_forms=method_forms, preview=preview, step=2)


def _check_kuroneko_choice(state: dict, offer, method_form) -> list[str]:
    """Refuse a 後払い choice BEFORE any order exists: availability, the method's own fields
    and the extension's dry run of what Yamato will accept."""
    if not offer.available:
        return [offer.reason or MSG_PAYMENT_FAILED]
    form_data = None
    if method_form is not None:
        if not method_form.validate():
            return [e for errs in method_form.errors.values() for e in errs]
        form_data = {f.name: f.data for f in method_form if f.name != "csrf_token"}
    preview = _preview(state)
    fee = kuroneko.fee_for(offer.method_id, preview.total)
    state["payment"] = {"method": f"kuroneko:{offer.method_id}", "name": offer.name, "fee": fee,
                        "form_data": form_data}
    # validate_order judges the order WITHOUT the fee (it adds the fee itself, like Yamato sees it).
    errors = kuroneko.validate_order(describe(preview), offer.method_id, form_data)
    if errors:
        state.pop("payment")
    _save_state(state)
    return list(errors)


@bp.get("/checkout/confirm")
@ssl_required
def confirm():
    """Step 3: 確認 with 「上記内容で注文する」 and the one-time checkout token."""
    state = _state()
    if not orders.ready_for_payment(cart.lines(), state.get("customer")):
        return redirect(url_for(".checkout"))
    if "payment" not in state:
        return redirect(url_for(".payment"))
    fingerprint = _cart_fingerprint()
    if not state.get("token") or state.get("confirmed_cart") != fingerprint:
        # What 「上記内容で注文する」 orders is exactly what this page shows.
        state["token"] = secrets.token_urlsafe(24)
        state["confirmed_cart"] = fingerprint
        _save_state(state)
    preview = _preview(state, with_payment=True)
    form = PlaceOrderForm(checkout_token=state["token"])
    return render_template("shop/confirm.html", order=preview, form=form, step=3)


@bp.post("/checkout/place")
@ssl_required
def place():
    form = PlaceOrderForm(request.form)
    token = form.checkout_token.data or ""
    state = _state()
    existing = _order_by_token(token)
    if existing is not None:          # double submit: show what the first submit did
        logger.info("checkout token reused for order %s: no second order", existing.id)
        if state.get("token") == token:
            # A second click sent before the first answer arrived carries the session of
            # before the order: the token it holds proves it is the same checkout.
            _remember(existing.id)
            if existing.status != STATUS_PAYMENT_FAILED:
                _finish_checkout()    # the browser keeps this answer: its cart is ordered
        return _redirect_for(existing)
    if not form.validate() or not token or state.get("token") != token:
        flash(MSG_EXPIRED, "error")
        return redirect(url_for(".confirm" if cart.lines() else ".show_cart"))
    lines = cart.lines()
    if not lines or "payment" not in state:
        return redirect(url_for(".show_cart"))
    if not orders.ready_for_payment(lines, state.get("customer")):
        return redirect(url_for(".checkout"))
    if state.get("confirmed_cart") != _cart_fingerprint():
        flash("カートの内容が変更されました。ご注文内容をもう一度ご確認ください。", "error")
        return redirect(url_for(".confirm"))

    order = _preview(state, with_payment=True)
    method_id = order.kuroneko_method_id
    if method_id is not None:
        problem = _recheck(order, method_id, state["payment"].get("form_data"))
        if problem:
            state.pop("payment", None)
            _save_state(state)
            flash(problem, "error")
            return redirect(url_for(".payment"))
    order.checkout_token = token
    db.session.add(order)
    try:
        # Committed before talking to Yamato: whatever happens next, the order exists.
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _order_by_token(token)
        if existing is None:
            raise
        _remember(existing.id)        # same token: the concurrent twin of this submit
        return _redirect_for(existing)
    _remember(order.id)
    state.pop("token", None)
    _save_state(state)
    logger.info("order %s created (%s, %s yen)", order.id, order.payment_method, order.total)

    if method_id is None:
        orders.mark_accepted(order)
        db.session.commit()
        _finish_checkout()
        return redirect(url_for(".complete", order_id=order.id))
    return _start_kuroneko(order, method_id, state["payment"].get("form_data"))


def _recheck(order: Order, method_id: int, form_data) -> str | None:
    """The cart may have changed since step 2: judge again before creating the order."""
    preview_without_fee = orders.build_order(cart.lines(), _state()["customer"])
    description = describe(preview_without_fee)
    offers = kuroneko.available_methods(description)
    offer = next((o for o in offers if o.method_id == method_id), None)
    if offer is None or not offer.available:
        return (offer.reason if offer else None) or MSG_PAYMENT_FAILED
    if kuroneko.fee_for(method_id, preview_without_fee.total) != order.payment_fee:
        return "ご注文金額が変わったため、お支払方法をもう一度お選びください。"
    errors = kuroneko.validate_order(description, method_id, form_data)
    return errors[0] if errors else None


def _start_kuroneko(order: Order, method_id: int, form_data):
    try:
        outcome = kuroneko.start_payment(order, method_id, form_data)
    except KuronekoError as exc:
        # A configuration or data problem the dry run did not catch: not the customer's fault,
        # and nothing was charged (the service raises only before any authorization).
        logger.error("start_payment failed for order %s: %s", order.id, exc.__class__.__name__)
        db.session.rollback()
        order = db.session.get(Order, order.id)
        orders.mark_failed(order)
        db.session.commit()
        flash(MSG_PAYMENT_FAILED, "error")
        return redirect(url_for(".payment_error", order_id=order.id))
    order = db.session.get(Order, order.id)
    if outcome.kind == "declined":
        orders.mark_failed(order)
        db.session.commit()
        flash(outcome.message or MSG_PAYMENT_FAILED, "error")
        return redirect(url_for(".payment_error", order_id=order.id))
    if outcome.kind == "pending":
        order.checkout_done = True      # resolved later; the signals keep the order in step
        db.session.commit()
        _finish_checkout()
        return redirect(url_for(".complete", order_id=order.id))
    orders.mark_accepted(order)         # authorized, under_review, or redirect (SMS, M12)
    db.session.commit()
    _finish_checkout()
    if outcome.kind == "redirect":
        return redirect(outcome.redirect_url)
    return redirect(url_for(".complete", order_id=order.id))


def _cart_fingerprint() -> list:
    return [[l.product.id, l.quantity, l.product.price] for l in cart.lines()]


def _remember(order_id: int) -> None:
    """This browser placed ``order_id``: it may see its completion / error page."""
    mine = [i for i in (session.get(MY_ORDERS) or []) if i != order_id]
    session[MY_ORDERS] = mine[-19:] + [order_id]


def _finish_checkout() -> None:
    cart.clear()
    session.pop("checkout", None)


def _order_by_token(token: str) -> Order | None:
    if not token:
        return None
    return db.session.scalar(db.select(Order).where(Order.checkout_token == token))


def _redirect_for(order: Order):
    """Where a customer returning to an already placed order belongs."""
    if order.id not in (session.get(MY_ORDERS) or []):
        flash(MSG_EXPIRED, "error")
        return redirect(url_for(".show_cart"))
    if order.status == STATUS_PAYMENT_FAILED:
        return redirect(url_for(".payment_error", order_id=order.id))
    payment = kuroneko.payment_for(str(order.id)) if order.kuroneko_method_id else None
    if payment is not None and payment.status == "awaiting_sms" and payment.checkout_token:
        return _sms_page(payment)
    if payment is not None and payment.status == "declined" and not order.checkout_done:
        return redirect(url_for(".payment_error", order_id=order.id))
    return redirect(url_for(".complete", order_id=order.id))


def _sms_page(payment):
    """The SMS page of an order this browser placed (callers checked MY_ORDERS). When
    「上記内容で注文する」 was sent twice (a reload while Yamato was answering), the browser keeps
    only the second response, whose session never saw the binding start_payment wrote into
    the first: the order being ours (proven by the one-time checkout token) binds it again."""
    bind_token(payment.checkout_token)
    return redirect(url_for("kuroneko_checkout.sms", token=payment.checkout_token))


def _own_order(order_id: int) -> Order:
    """Completion pages show personal data: only to the browser that placed the order."""
    if order_id not in (session.get(MY_ORDERS) or []):
        abort(404)
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    return order


@bp.get("/checkout/complete/<kuroneko_id:order_id>")
@ssl_required
def complete(order_id: int):
    order = _own_order(order_id)
    payment = kuroneko.payment_for(str(order.id)) if order.kuroneko_method_id else None
    if payment is not None and payment.status == "awaiting_sms" and payment.checkout_token:
        return _sms_page(payment)
    if order.status in (STATUS_PAYMENT_FAILED, STATUS_CANCELLED) and payment is not None \
            and payment.status == "declined":
        return redirect(url_for(".payment_error", order_id=order.id))
    tag = kuroneko.conversion_tag(str(order.id)) if payment is not None else ""
    return render_template("shop/complete.html", order=order, payment=payment,
                           conversion_tag=tag, bank_account=BANK_ACCOUNT_TEXT,
                           processing=order.status == STATUS_PROCESSING)


@bp.get("/checkout/payment-error/<kuroneko_id:order_id>")
@ssl_required
def payment_error(order_id: int):
    order = _own_order(order_id)
    payment = kuroneko.payment_for(str(order.id)) if order.kuroneko_method_id else None
    messages = get_flashed_messages(category_filter=["error", "kuroneko_error"])
    return render_template("shop/payment_error.html", order=order, payment=payment,
                           messages=messages or [MSG_PAYMENT_FAILED],
                           can_retry=bool(cart.lines()) and "customer" in _state(),
                           retry_form=CsrfForm())


@bp.post("/checkout/retry/<kuroneko_id:order_id>")
@ssl_required
def retry(order_id: int):
    """After a failed payment: put the order's goods back in the cart to choose again."""
    order = _own_order(order_id)
    form = CsrfForm(request.form)
    if form.validate() and order.status in (STATUS_PAYMENT_FAILED, STATUS_CANCELLED):
        for item in order.items:
            product = db.session.get(Product, item.product_id) if item.product_id else None
            if product is not None and product.active:
                cart.add(product.id, item.quantity)
    return redirect(url_for(".show_cart"))

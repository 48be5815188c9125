"""Views of the ``kuroneko_checkout`` blueprint (see the package docstring for the routes)."""
from __future__ import annotations

import hmac
import logging
from datetime import timezone

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from werkzeug.routing import BuildError

from .. import config, payments, web
from ..payments.messages import MSG_SMS_WRONG
from ..yamato.timezone import JST
from ..errors import InvalidTransition, KuronekoError
from ..models import PaymentStatus
from ..payments.sms_window import latest_attempt, window_ends
from ..web import headers, layout, logmask
from . import binding, limits, pushlog
from .forms import MSG_EXPIRED, ButtonForm, SmsCodeForm
from .guard import refuse_plain_http

logger = logging.getLogger(__name__)

BLUEPRINT_NAME = "kuroneko_checkout"
FLASH_CATEGORY = "kuroneko_error"
SUCCESS = {PaymentStatus.AUTHORIZED.value, PaymentStatus.CAPTURED.value,
           PaymentStatus.UNDER_REVIEW.value, PaymentStatus.PENDING.value}

MSG_TIMEOUT = ("SMS認証が{minutes}分以内に完了しなかったため、ご注文はキャンセルされました。"
               "お手数ですが、もう一度ご注文ください。")
MSG_BACK = "SMS認証を中止したため、ご注文はキャンセルされました。別のお支払方法で再度ご注文ください。"
MSG_DECLINED = "クロネコ代金後払いをご利用いただけませんでした。別のお支払方法をお選びください。"
MSG_RESENT = "新しい認証番号をSMSで送信しました。届いた4桁の番号を入力してください。"
MSG_BUSY = "前回の操作の結果を確認しています。しばらくしてから、もう一度お試しください。"
MSG_CHECKING = ("通信エラーのため認証結果を確認できませんでした。お手数ですが、もう一度認証番号を"
                "入力してください（二重に請求されることはありません）。")
MSG_EXPIRED_CODE = "認証番号の有効期限が切れました。「認証番号を再送信する」を押して、新しい番号を受け取ってください。"


def create_blueprint() -> Blueprint:
    # Templates live in flask_kuroneko/templates/kuroneko/checkout/ (the host may override them
    # at the same path in its own templates folder, which Flask searches first).
    bp = Blueprint(BLUEPRINT_NAME, __name__, template_folder="../templates")
    bp.before_request(refuse_plain_http)
    bp.before_request(web.refuse_control_characters)
    bp.after_request(_protect)
    bp.context_processor(headers.template_context)
    bp.record_once(layout.exempt_from_flask_wtf)
    bp.record_once(_mask_notify_secret_in_access_logs)
    bp.record_once(lambda setup_state: logmask.install(setup_state.app.logger))
    bp.add_url_rule("/sms/<token>", "sms", sms_page, methods=["GET", "POST"])
    bp.add_url_rule("/sms/<token>/resend", "resend", resend, methods=["POST"])
    bp.add_url_rule("/sms/<token>/back", "back", back, methods=["POST"])
    bp.add_url_rule("/notify", "notify_basic", notify, methods=["POST"])
    bp.add_url_rule("/notify/<secret>", "notify", notify, methods=["POST"])
    return bp


def _protect(response):
    """The SMS page shows the order and takes its code: never cached or framed."""
    return headers.protect(response, no_store=True)


def _mask_notify_secret_in_access_logs(setup_state) -> None:
    """The fallback push URL carries the secret in its path: keep it out of the access log
    lines this process writes (Werkzeug's development server, gunicorn's access logger)."""
    prefix = setup_state.url_prefix or ""
    pushlog.install_mask(f"{prefix.rstrip('/')}/notify/")


# ------------------------------------------------------------------ helpers


def _state():
    from ..state import current_state
    return current_state()


def _payment_or_404(token: str):
    """The payment of this checkout token — only for the browser that started it."""
    if not token or len(token) > 128 or not binding.is_bound(token):
        abort(404)
    state = _state()
    payment = state.db.session.scalar(sa.select(state.models.Payment).where(
        state.models.Payment.checkout_token == token))
    if payment is None:
        abort(404)
    latest = latest_attempt(payment)
    if latest is not payment:
        # A new code was sent under a new 決済ID. A second tap on 「再送信」 (or a reload
        # while Yamato answered) leaves the browser with the session of before the first
        # answer, bound to the old attempt only: the attempt that replaced it is the same
        # checkout, so it is bound too and the customer goes on there.
        binding.bind_token(latest.checkout_token)
        abort(redirect(url_for(f"{BLUEPRINT_NAME}.sms", token=latest.checkout_token)))
    return payment


def _window_minutes() -> int:
    return int(config.get("SMS_WINDOW_MINUTES"))


def _window_over(payment) -> bool:
    return payments.sms_window_over(payment)


def _final(payment, message: str | None = None):
    """Leave the SMS page for the host's completion or payment error page
    (KURONEKO_CHECKOUT_SUCCESS_ENDPOINT / _FAILURE_ENDPOINT, called with ``order_id``)."""
    if payment.status == PaymentStatus.AWAITING_SMS.value:
        # Still waiting for the code (e.g. an earlier answer is being confirmed): stay here.
        flash(message or MSG_BUSY, FLASH_CATEGORY)
        return redirect(url_for(f"{BLUEPRINT_NAME}.sms", token=payment.checkout_token))
    success = payment.status in SUCCESS
    key = "CHECKOUT_SUCCESS_ENDPOINT" if success else "CHECKOUT_FAILURE_ENDPOINT"
    endpoint = config.get(key)
    target = None
    if not endpoint:
        logger.warning("KURONEKO_%s is not set: showing the generic result page", key)
    else:
        try:
            target = url_for(endpoint, order_id=payment.host_order_id)
        except BuildError:
            # The payment is committed: a misspelt setting must not become a 500 for the customer.
            logger.error("KURONEKO_%s=%r is not an endpoint of this app taking order_id: "
                         "showing the generic result page; fix the setting", key, endpoint)
    if target is None:
        return render_template("kuroneko/checkout/result.html", payment=payment, success=success,
                               message=message, **_template_globals())
    if not success:
        flash(message or MSG_DECLINED, FLASH_CATEGORY)
    return redirect(target)


def _settled(payment):
    """Leave the page of a payment settled elsewhere (the sweep, the push, another tab),
    naming the 30 minutes when they are what ended it."""
    if (payment.status == PaymentStatus.DECLINED.value
            and payments.declined_by_timeout(payment)):
        return _final(payment, MSG_TIMEOUT.format(minutes=_window_minutes()))
    return _final(payment)


STANDALONE_TEMPLATE = "kuroneko/checkout/_standalone.html"


def _template_globals() -> dict:
    """The page layout: the host's base template, else a minimal mobile page of our own."""
    return {"kuroneko_base_template": layout.base_template(STANDALONE_TEMPLATE)}


def _mask_phone(phone: str | None) -> str:
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return f"***-****-{digits[-4:]}" if len(digits) >= 4 else ""


def _render(payment, form, *, message: str | None = None, attempts_left: int | None = None,
            expired: bool = False, status: int = 200):
    ends = window_ends(payment)      # naive UTC in the tables; the customer reads Japan time
    deadline = ends.replace(tzinfo=timezone.utc).astimezone(JST).strftime("%H:%M") if ends else None
    html = render_template(
        "kuroneko/checkout/sms.html", payment=payment, form=form, button_form=ButtonForm(),
        message=message, attempts_left=attempts_left, expired=expired,
        masked_phone=_mask_phone(payment.sms_phone), deadline=deadline,
        window_minutes=_window_minutes(), sandbox=_state().environment() == "sandbox",
        sandbox_codes=_sandbox_codes(payment), **_template_globals())
    return html, status


def _sandbox_codes(payment) -> list[str]:
    """Sandbox only: the SMS the simulated phone received for this 決済ID, so a demo user
    can complete the flow (the real service sends a real SMS)."""
    state = _state()
    if state.environment() != "sandbox":
        return []
    simulator = state.get_simulator(create=False)
    if simulator is None:
        return []
    try:
        merchant = state.client().merchant_code
        return [str(m["code"]) for m in simulator.sms_messages(merchant, payment.order_no)]
    except Exception:  # the hint is a convenience; never break the page for it
        logger.debug("sandbox SMS outbox not readable", exc_info=True)
        return []


# ------------------------------------------------------------------ views


def sms_page(token: str):
    """The 4-digit code page (M12). Wrong code → retry with attempts left; expired code →
    offer a new code; refusal → payment error page; success → completion (与信)."""
    payment = _payment_or_404(token)
    if payment.status != PaymentStatus.AWAITING_SMS.value:
        return _settled(payment)
    if _window_over(payment):
        return _timeout(payment)
    form = SmsCodeForm(request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _render(payment, form)
    if not form.validate():
        message = MSG_EXPIRED if form.csrf_failed else None
        return _render(payment, form, message=message, status=400 if form.csrf_failed else 200)
    refusal = limits.guesses_refused(payment.sms_phone)
    if refusal:        # too many wrong codes for this number or browser: Yamato is not asked
        form.code.data = ""
        return _render(payment, form, message=refusal, status=429)
    try:
        outcome = payments.verify_sms(payment.id, form.code.data, actor="customer")
    except InvalidTransition:
        # Another tab, the push or the sweep finished this payment meanwhile, or an earlier
        # answer is still being confirmed with Yamato.
        _state().db.session.rollback()
        payment = _reload(payment)
        if payment.status == PaymentStatus.AWAITING_SMS.value:
            return _after_lost_answer(payment, form)
        return _final(payment)
    payment = _reload(payment)
    if outcome.kind == "authorized":
        return _final(payment)
    if outcome.kind == "retry":
        if outcome.message == MSG_SMS_WRONG:     # Yamato said: wrong code
            limits.note_wrong_guess()
        form.code.data = ""
        return _render(payment, form, message=outcome.message, attempts_left=outcome.attempts_left)
    if outcome.kind == "expired":
        return _render(payment, form, message=outcome.message or MSG_EXPIRED_CODE, expired=True)
    if outcome.kind == "pending":
        return _after_lost_answer(payment, form)
    return _final(payment, outcome.message or MSG_DECLINED)


def _after_lost_answer(payment, form):
    """Yamato's answer to the code was lost: ask Yamato once (never guess). Settled → leave
    the page; still unknown → the customer may simply enter the code again (Yamato answers
    "not awaiting" for an accepted code and the service then reads the status)."""
    try:
        payment = payments.resolve(payment.id)
    except KuronekoError as exc:
        logger.warning("resolve after a lost KAASA0020 answer failed for %s: %s",
                       payment.order_no, exc.__class__.__name__)
        _state().db.session.rollback()
    payment = _reload(payment)
    if payment.status != PaymentStatus.AWAITING_SMS.value:
        return _final(payment)
    form.code.data = ""
    return _render(payment, form, message=MSG_CHECKING)


def _reload(payment):
    state = _state()
    state.db.session.refresh(payment)
    return payment


def _timeout(payment):
    message = MSG_TIMEOUT.format(minutes=_window_minutes())
    try:
        payment = payments.abandon_sms(payment.id, reason="timeout")
    except InvalidTransition:
        _state().db.session.rollback()
        payment = _reload(payment)
    return _final(payment, message)


def resend(token: str):
    """Expired code: a new attempt (new 決済ID = new orderNo) and a new SMS, bound to the
    same browser; the 30-minute window keeps counting from the first SMS."""
    payment = _payment_or_404(token)
    form = ButtonForm(request.form)
    if not form.validate():
        flash(MSG_EXPIRED, FLASH_CATEGORY)
        return redirect(url_for(f"{BLUEPRINT_NAME}.sms", token=token))
    if payment.status != PaymentStatus.AWAITING_SMS.value:
        return _settled(payment)
    if _window_over(payment):
        return _timeout(payment)
    with limits.phone_lock(payment.sms_phone):
        refusal = limits.sms_sends_refused(payment.sms_phone)
        if refusal:
            return _render(payment, SmsCodeForm(), message=refusal, expired=True, status=429)
        return _restart(payment, token, form)


def _restart(payment, token: str, form):
    try:
        new_payment = payments.restart_sms(payment.id)
    except InvalidTransition as exc:       # e.g. too many new codes, or an answer pending
        _state().db.session.rollback()
        return _final(_reload(payment), str(exc))
    except KuronekoError:
        logger.exception("restart_sms failed for payment %s", payment.order_no)
        _state().db.session.rollback()
        payment = _reload(payment)
        if payment.status == PaymentStatus.AWAITING_SMS.value:
            form = SmsCodeForm()
            return _render(payment, form, expired=True, status=503,
                           message="認証番号を再送信できませんでした。しばらくしてからもう一度お試しください。")
        return _final(payment)
    limits.note_sms_sent()
    binding.unbind_token(token)
    binding.bind_token(new_payment.checkout_token)
    if new_payment.status != PaymentStatus.AWAITING_SMS.value:
        return _final(new_payment)
    flash(MSG_RESENT, "kuroneko_info")
    return redirect(url_for(f"{BLUEPRINT_NAME}.sms", token=new_payment.checkout_token))


def back(token: str):
    """「戻る」: the customer gives up the SMS step → 決済不可, cancelled at Yamato if needed."""
    payment = _payment_or_404(token)
    form = ButtonForm(request.form)
    if not form.validate():
        flash(MSG_EXPIRED, FLASH_CATEGORY)
        return redirect(url_for(f"{BLUEPRINT_NAME}.sms", token=token))
    if payment.status != PaymentStatus.AWAITING_SMS.value:
        return _settled(payment)
    if _window_over(payment):
        return _timeout(payment)
    if payment.status == PaymentStatus.AWAITING_SMS.value:
        try:
            payment = payments.abandon_sms(payment.id, reason="back")
        except InvalidTransition:
            _state().db.session.rollback()
            payment = _reload(payment)
            if payment.status == PaymentStatus.AWAITING_SMS.value:
                return _final(payment)         # an earlier answer is being confirmed
    return _final(payment, MSG_BACK)


def _push_secret_matches(secret: str | None) -> bool:
    """The push is authenticated by KURONEKO_NOTIFY_SECRET: as the password of HTTP Basic
    authentication (register ``https://kuroneko:<secret>@shop/kuroneko/notify`` where Yamato's
    setup takes such a URL: the secret then never appears in a request line or access log) or,
    as a fallback, as the last path segment (masked in the access logs this process writes)."""
    expected = config.get("NOTIFY_SECRET")
    if not expected:
        return False
    if secret is None:
        auth = request.authorization
        secret = auth.password if auth is not None and auth.type == "basic" else None
    return secret is not None and hmac.compare_digest(secret.encode(), str(expected).encode())


def notify(secret: str | None = None):
    """Yamato's SMS result push (spec §3.11). Authenticated by the secret (Basic auth or path)
    and the merchant code; the payments pipeline confirms with Yamato before changing anything."""
    if not _push_secret_matches(secret):
        logger.warning("SMS push with a wrong or missing secret refused (from %s)",
                       request.remote_addr)
        abort(404)
    form = request.form
    merchant = _state().settings().merchant_code or _sandbox_merchant()
    if not hmac.compare_digest((form.get("ycfStrNo") or "").encode(), merchant.encode()):
        logger.warning("SMS push for another merchant code refused")
        abort(403)
    try:
        payment = payments.handle_sms_push(form.to_dict())
    except KuronekoError as exc:
        logger.error("SMS push for %s not processed: %s", form.get("juchuNo"),
                     exc.__class__.__name__)
        _state().db.session.rollback()
        return current_app.response_class("NG", status=503, mimetype="text/plain")
    logger.info("SMS push for %s processed (%s)", form.get("juchuNo"),
                payment.status if payment is not None else "unknown order")
    return current_app.response_class("OK", status=200, mimetype="text/plain")


def _sandbox_merchant() -> str:
    if _state().environment() != "sandbox":
        return ""
    from ..runtime import SANDBOX_MERCHANT_CODE
    return SANDBOX_MERCHANT_CODE

"""A test kit for host shops: the sandbox Yamato seen by the shop's own order ids.

``SandboxKit(app)`` (or the pytest fixture ``kuroneko_sandbox`` of
``flask_kuroneko.testing.plugin``) lets a shop's own tests read the 認証番号 its customer
received, move the sandbox clock, inject faults between the shop and "Yamato" and inspect
the Yamato-side transaction, each in one line and by the shop's order id::

    code = kuroneko_sandbox.sms_code(order.id)
    kuroneko_sandbox.advance(minutes=10)
    kuroneko_sandbox.inject_fault("drop", operation="capture")
    assert kuroneko_sandbox.transaction(order.id)["status"] == 1      # 承認済み

Every method works with or without an app context of ``app`` (it pushes one when needed).
The app must run the in-process sandbox (``KURONEKO_ENVIRONMENT="sandbox"``, no
``KURONEKO_SANDBOX_URL``). Nothing here is for production code: it changes the sandbox
and, for :meth:`SandboxKit.expire_sms_window`, the extension's own timestamps.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from .. import payments
from ..errors import ConfigurationError
from ..models import utcnow
from ..state import current_state
from ..yamato.codes import Operation

logger = logging.getLogger(__name__)

__all__ = ["BACK_OFFICE_ACTIONS", "OPERATIONS", "SandboxKit"]

#: Our operation names (and a few plain words) → the Yamato API a fault is armed on.
OPERATIONS: dict[str, Operation] = {
    "authorize": Operation.AUTHORIZE, "verify_sms": Operation.VERIFY_SMS,
    "restart_sms": Operation.AUTHORIZE, "resolve": Operation.CREDIT_RESULT,
    "capture": Operation.SHIPMENT, "change_tracking": Operation.SHIPMENT,
    "cancel_shipment": Operation.SHIPMENT, "cancel": Operation.CANCEL,
    "change_amount": Operation.CHANGE_AMOUNT, "reissue_invoice": Operation.REISSUE,
    "sync_status": Operation.STATUS, "status": Operation.STATUS,
}
#: What Yamato's back office can do to a transaction (the sandbox's twins of it).
BACK_OFFICE_ACTIONS = ("deliver", "investigate", "warn", "invoice", "pay", "resolve_review",
                       "flip_ng", "expire_sms")


class SandboxKit:
    """The in-process sandbox of ``app``, addressed by the shop's order ids."""

    def __init__(self, app: Flask):
        self.app = app

    def __repr__(self) -> str:
        return f"<SandboxKit app={self.app.name!r}>"

    @contextmanager
    def _context(self) -> Iterator[None]:
        if has_app_context() and current_app._get_current_object() is self.app:
            yield
        else:
            with self.app.app_context():
                yield

    # ------------------------------------------------------------------ what is there

    @property
    def simulator(self) -> Any:
        """The app's Simulator (for anything this kit does not wrap; see docs/sandbox.md)."""
        with self._context():
            simulator = current_state().get_simulator()
            if simulator is None:
                raise ConfigurationError(
                    "SandboxKit needs the in-process sandbox: set KURONEKO_ENVIRONMENT="
                    "\"sandbox\" and leave KURONEKO_SANDBOX_URL unset in the test config.")
            return simulator

    @property
    def available(self) -> bool:
        """True when the app runs the in-process sandbox (the kit can be used)."""
        with self._context():
            return current_state().get_simulator() is not None

    @property
    def merchant_code(self) -> str:
        """The merchant code the app talks to the sandbox with."""
        with self._context():
            self.simulator       # the clear error first when there is no sandbox
            return current_state().client().merchant_code

    def payment(self, order_id: Any) -> Any:
        """The ``Payment`` standing for the shop's order (as ``kuroneko.payment_for``), or None."""
        with self._context():
            return payments.current_payment(str(order_id))

    def order_no(self, order_id: Any) -> str:
        """The 決済ID (Yamato's orderNo) of the order's current payment."""
        payment = self.payment(order_id)
        if payment is None:
            raise LookupError(f"order {order_id!r} has no kuroneko payment (was start_payment "
                              "called for it, and committed?)")
        return payment.order_no

    # ------------------------------------------------------------------ Yamato's side

    def transaction(self, order_id: Any) -> dict:
        """Yamato's transaction of the order's current payment, as a dict (keys in
        docs/integration.md, 'Testing your shop'): ``status`` (取引状況 code), ``current_total``,
        ``items``, ``billing``, ``slips``, ``sms``, ``history`` …"""
        order_no = self.order_no(order_id)
        with self._context():
            tx = self.simulator.transaction(self.merchant_code, order_no)
        if tx is None:
            raise LookupError(f"Yamato has no transaction {order_no} for order {order_id!r} "
                              "(the authorization never reached the sandbox)")
        return tx

    def sms_code(self, order_id: Any) -> str:
        """The 認証番号 the customer's phone received for the order's current SMS attempt."""
        order_no = self.order_no(order_id)
        with self._context():
            sent = self.simulator.sms_messages(self.merchant_code, order_no)
        if not sent:
            raise LookupError(f"no SMS was sent for order {order_id!r} (決済ID {order_no}): "
                              "is it a スマホタイプ payment waiting for its 認証番号?")
        return str(sent[-1]["code"])

    def back_office(self, order_id: Any, action: str, **arguments: Any) -> dict:
        """Act as Yamato's back office on the order's transaction: ``deliver``, ``investigate``,
        ``warn`` (``warning=1..3``), ``invoice``, ``pay``, ``resolve_review`` (``result=0..2``),
        ``flip_ng``, ``expire_sms``. Returns the transaction."""
        if action not in BACK_OFFICE_ACTIONS:
            raise ValueError(f"unknown back-office action {action!r}; use one of "
                             f"{', '.join(BACK_OFFICE_ACTIONS)}")
        order_no = self.order_no(order_id)
        with self._context():
            return getattr(self.simulator, action)(self.merchant_code, order_no, **arguments)

    # ------------------------------------------------------------------ clock and faults

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0,
                seconds: float = 0) -> datetime:
        """Move the sandbox clock forward (Yamato's side: 認証番号 expiry after 180 s, 審査中
        decisions after 600 s, late NG, auto_advance) and apply what fell due; returns the
        sandbox's now (Japan time). The shop's own clock is not moved: see
        :meth:`expire_sms_window` for the 30-minute window."""
        total = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if total.total_seconds() <= 0:
            raise ValueError("advance() moves the clock forward: give a positive duration")
        with self._context():
            return self.simulator.advance(total.total_seconds())

    def set_now(self, moment: datetime | None) -> None:
        """Freeze the sandbox clock at ``moment`` (naive = Japan time); None = real time."""
        with self._context():
            self.simulator.set_now(moment)

    def expire_sms_window(self, order_id: Any) -> None:
        """Make the order's スマホタイプ window (KURONEKO_SMS_WINDOW_MINUTES) run out now: its SMS
        attempts are dated that long ago (one minute more). The next page view or sweep then
        ends the payment as the real 30 minutes would."""
        with self._context():
            state = current_state()
            payment = payments.current_payment(str(order_id))
            if payment is None:
                raise LookupError(f"order {order_id!r} has no kuroneko payment")
            minutes = int(current_app.config["KURONEKO_SMS_WINDOW_MINUTES"]) + 1
            Payment = state.models.Payment
            chain = state.db.session.scalars(sa.select(Payment).where(
                Payment.host_order_id == payment.host_order_id,
                Payment.sms_sent_at.is_not(None))).all()
            for attempt in chain:
                attempt.sms_sent_at -= timedelta(minutes=minutes)
                attempt.created_at -= timedelta(minutes=minutes)
            state.db.session.commit()
            logger.info("test kit: SMS window of order %s moved %s minutes back", order_id,
                        minutes)

    def inject_fault(self, kind: str, *, operation: str | Operation | None = None,
                     order_id: Any = None, times: int | None = 1, seconds: float | None = None,
                     error_code: str | None = None, after_processing: bool = True) -> dict:
        """Arm a fault between the shop and the sandbox (docs/sandbox.md, 'Faults'): ``kind`` is
        ``latency`` (``seconds``), ``drop``, ``refuse``, ``http500``, ``malformed`` or ``error``;
        ``operation`` is ours (``"capture"``, ``"authorize"`` …) or Yamato's code
        (``"KAASL0010"``), None = any; ``order_id`` limits it to that order's current
        payment; ``times=None`` fires until :meth:`clear_faults`."""
        api = None
        if operation is not None:
            api = OPERATIONS.get(str(operation)) or Operation(operation)
        order_no = self.order_no(order_id) if order_id is not None else None
        with self._context():
            return self.simulator.inject_fault(
                kind, operation=api, order_no=order_no, times=times, seconds=seconds,
                error_code=error_code, after_processing=after_processing)

    def clear_faults(self) -> None:
        with self._context():
            self.simulator.clear_faults()

    # ------------------------------------------------------------------ our side

    def sweep(self, *, minutes: float = 0, seconds: float = 0) -> Any:
        """One run of the worker's sweep (what ``flask kuroneko sweep`` does): SMS expiry,
        審査中 polling, lost answers, queued retries; returns its report. ``minutes`` /
        ``seconds``: run it as if that much later (a lost authorization is asked about after
        60 seconds, retries back off)."""
        later = timedelta(minutes=minutes, seconds=seconds)
        with self._context():
            return payments.sweep(now=utcnow() + later if later else None)

    def reset(self) -> None:
        """Forget the sandbox's transactions, SMS, faults and clock (merchant settings stay)."""
        with self._context():
            self.simulator.reset()

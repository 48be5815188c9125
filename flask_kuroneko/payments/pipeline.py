"""The pipeline every Yamato operation goes through.

    lock the payment → check the transition → journal the request → send → apply the answer
    through the one status writer → history → error log → commit → signal

A changing request (authorize, SMS verify, capture, tracking change, shipment cancel, cancel,
amount change, reissue) is *journaled ahead*: the ``Operation`` row (state ``unknown``, claimed
by this process, see ``journal.claimant``) and ``Payment.open_operation`` are committed before
the request leaves, so a crash at any point — before the send, during it, or between Yamato's
answer and our commit — leaves a row the next sweep settles from Yamato's own answer
(``recovery.py``). While the request is out, the payment's row is not locked; the open
operation keeps every other operation off the payment (``locked`` refuses them), and the answer
is applied only by the process that still owns the journal row (:meth:`Tx.take_back`).

Status inquiries (KAAST0010/KAARS0010) change nothing at Yamato: they run inside one locked
step without a journal row (a lost answer is simply asked again).

Locking: ``SELECT … FOR UPDATE`` on PostgreSQL and MariaDB. SQLite has no row locks, so there
the same code path is also serialised per payment with a process-local re-entrant lock (striped
over 64 locks): safe for the threads of one process; several processes on one SQLite file are
not serialised — run the worker and the web process on PostgreSQL/MariaDB in production.

Signals are sent after the commit; a failing receiver never undoes a committed change.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterator

import sqlalchemy as sa
from flask import current_app

from .. import signals
from ..errors import (ApiConnectionError, ApiError, AuthenticationError, InvalidTransition,
                      KuronekoError,
                      OperationPending, PaymentNotFound, ValidationError)
from ..state import current_state
from ..yamato.codes import Operation as Api
from . import health, history, journal, transitions, yamato_side

logger = logging.getLogger(__name__)

_STRIPES = tuple(threading.RLock() for _ in range(64))
SETTINGS_PROBLEM = ("ヤマトが加盟店コードまたはパスワードを受け付けませんでした。"
                    "クロネコ代金後払いの設定を確認してください")
#: Extra seconds a request owns its journal row beyond the HTTP timeout.
CLAIM_MARGIN = 60


def local_lock(session: Any, key: Any) -> ContextManager[Any]:
    """A process-local lock for ``key`` on SQLite (no row locks there); a no-op elsewhere."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return nullcontext()
    return _STRIPES[hash((str(bind.url), key)) % len(_STRIPES)]


def send_signal(name: str, payment: Any, **extra: Any) -> None:
    """Send an outbound signal; a failing receiver must not undo a committed payment change."""
    try:
        getattr(signals, name).send(current_app._get_current_object(), payment=payment,
                                    order_id=payment.host_order_id if payment else None, **extra)
    except Exception:
        logger.exception("kuroneko: a receiver of %s failed (the payment change is committed)",
                         name)


@dataclass
class Answer:
    """Yamato's answer to one request: ``result``, or the ``error`` it failed with."""
    result: Any = None
    error: ApiError | ValidationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def ask_yamato(fn: Callable[..., Any], *args: Any) -> Answer:
    """Call one client method; Yamato's refusals and transport failures become the answer."""
    try:
        answer = Answer(result=fn(*args))
    except ValidationError as exc:          # refused before anything was sent
        return Answer(error=exc)
    except ApiError as exc:
        answer = Answer(error=exc)
    health.record(reached=not isinstance(answer.error, ApiConnectionError))
    return answer


def inquire(what: str, order_no: str) -> Answer:
    """A status inquiry with the shorter KURONEKO_STATUS_TIMEOUT: ``what`` is "status"
    (KAAST0010 取引状況) or "credit_result" (KAARS0010 与信結果)."""
    client = current_state().status_client()
    return ask_yamato(getattr(client, f"get_{what}"), order_no)


def pending_message(label: str, exc: ApiConnectionError) -> str:
    if exc.may_have_reached:
        return f"ヤマトからの応答がないため「{label}」の結果を確認中です。自動で確認します。"
    return f"ヤマトに接続できなかったため「{label}」は送信されていません。自動で再試行します。"


class Tx:
    """One locked step on a payment: history, error log, journal, signals after the commit."""

    def __init__(self, session: Any, models: Any, payment: Any, operation: str,
                 actor: str | None):
        self.session, self.models, self.payment = session, models, payment
        self.operation, self.actor = operation, actor
        self.signals: list[tuple[str, dict]] = []
        self.followups: list[Callable[[], None]] = []
        self.error: Exception | None = None

    @property
    def label(self) -> str:
        return transitions.label(self.operation)

    def emit(self, name: str, **extra: Any) -> None:
        """Queue an outbound signal (sent after the commit)."""
        self.signals.append((name, extra))

    def after_commit(self, work: Callable[[], None]) -> None:
        """Run ``work`` after the commit and the signals (e.g. the next journaled step)."""
        self.followups.append(work)

    def history(self, result: str, *, label: str | None = None, amount: int | None = None,
                detail: str | None = None) -> None:
        history.record(self.session, self.models, self.payment, label or self.label, result,
                       amount=amount, detail=detail, actor=self.actor)

    def error_log(self, message: str, *, code: str | None = None, api: Api | None = None,
                  detail: dict | None = None) -> None:
        history.log_error(self.session, self.models, message=message,
                          order_no=self.payment.order_no, kind=self.payment.kind,
                          operation=api.value if api else self.operation, code=code,
                          detail=detail)

    def report(self, exc: Exception, api: Api, *, name: str | None = None) -> str:
        """History + error log + payment_error for a refused or unanswered request; returns
        the Japanese message recorded."""
        name = name or self.operation
        if isinstance(exc, ApiConnectionError):
            code = "timeout" if exc.may_have_reached else "connection"
            message = pending_message(self.label, exc)
            self.history("不明" if exc.may_have_reached else "未送信", detail=message)
        elif isinstance(exc, ValidationError):
            code, message = exc.field, exc.message
            self.history("入力エラー", detail=message)
        elif isinstance(exc, AuthenticationError):      # our settings, not the customer's input
            code = exc.code
            message = f"{SETTINGS_PROBLEM}（{exc.message}）"
            self.history(code or "NG", detail=message)
        else:
            code, message = getattr(exc, "code", None), getattr(exc, "message", str(exc))
            self.history(code or "NG", detail=message)
        self.error_log(message, code=code, api=api)
        self.emit("payment_error", operation=name, code=code, message=message)
        return message

    # --------------------------------------------------------------- journaled requests

    def journal_ahead(self, params: dict, *, operation: str | None = None,
                      timeout: float | None = None) -> Any:
        """Journal this step's request before it is sent: state ``unknown``, claimed by this
        process for the request's timeout plus a margin. The caller's commit makes it durable."""
        seconds = float(timeout if timeout is not None
                        else current_app.config.get("KURONEKO_TIMEOUT", 20.0)) + CLAIM_MARGIN
        return journal.add(self.session, self.models, self.payment, operation or self.operation,
                           journal.UNKNOWN, params, claimed_by=journal.claimant("request"),
                           claim_seconds=seconds)

    def take_back(self, op_id: int, owner: str) -> Any | None:
        """The journal row of our request, if this process still owns it (else None: a sweep
        took it over because our claim ran out; its answer from Yamato wins)."""
        op = self.session.get(self.models.Operation, op_id, populate_existing=True)
        if op is None or op.state not in journal.OPEN_STATES or op.claimed_by != owner:
            logger.warning("kuroneko: %s of %s was taken over by %s; our answer is not applied",
                           self.operation, self.payment.order_no,
                           getattr(op, "claimed_by", None))
            return None
        return op

    def fail(self, op: Any, exc: Exception, api: Api) -> str:
        """Record a failed journaled request: unanswered → the row stays open for the sweep
        (``unknown``: ask Yamato; ``queued``: never reached Yamato, resend) and
        OperationPending is raised after the commit; refused → the row fails and the refusal
        is raised after the commit."""
        message = self.report(exc, api)
        if isinstance(exc, ApiConnectionError):
            state = journal.UNKNOWN if exc.may_have_reached else journal.QUEUED
            journal.release(op, state, error=str(exc))
            self.error = OperationPending(message, state=state, operation=self.operation)
        else:
            journal.settle(op, journal.FAILED, payment=self.payment, error=str(exc))
            self.error = exc
        return message

    def resend(self, api: Api, fn: Callable[..., Any], *args: Any,
               passthrough: tuple[str, ...] = ()) -> tuple[Any, Exception | None]:
        """A resend by the sweep, which already holds the claimed journal row: (result, None)
        or (None, the failure, recorded in history/error log). Refusals whose code is in
        ``passthrough`` are returned without being recorded (the caller knows what they mean,
        e.g. kaasl032E "the old slip is already replaced")."""
        answer = ask_yamato(fn, *args)
        if answer.ok:
            return answer.result, None
        exc = answer.error
        if not (isinstance(exc, ApiError) and not isinstance(exc, ApiConnectionError)
                and exc.code in passthrough):
            self.report(exc, api)
        return None, exc

    def finish(self) -> None:
        for name, extra in self.signals:
            send_signal(name, self.payment, **extra)
        for work in self.followups:
            work()
        if self.error is not None:
            raise self.error


def load_locked(session: Any, models: Any, payment_id: int) -> Any:
    payment = session.execute(
        sa.select(models.Payment).where(models.Payment.id == int(payment_id))
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if payment is None:
        raise PaymentNotFound(f"決済（ID {payment_id}）が見つかりません。")
    return payment


def refuse_while_open(payment: Any, operation: str) -> None:
    pending = payment.open_operation       # read with the row lock: never stale
    if pending is not None:
        raise InvalidTransition(
            f"前回の「{transitions.label(pending)}」の結果をヤマトに確認中のため、今は操作できません。"
            "しばらくしてから再度お試しください。", current=payment.status, operation=operation)


@contextmanager
def locked(payment_id: int, operation: str, *, actor: str | None = None,
           check: bool = True) -> Iterator[Tx]:
    """Lock the payment, check the transition (and that no earlier request is unsettled),
    yield a Tx; commit on success, then send the signals, run the follow-ups and raise
    ``tx.error``. ``check=False``: a step of an operation already checked (the answer to a
    journaled request, the sweep's recovery)."""
    state = current_state()
    session, models = state.db.session, state.models
    with local_lock(session, int(payment_id)):
        payment = load_locked(session, models, payment_id)
        if check:
            transitions.check(operation, payment.status)
            yamato_side.check(operation, payment, transitions.label(operation))
            refuse_while_open(payment, operation)
        tx = Tx(session, models, payment, operation, actor)
        try:
            yield tx
            session.commit()
        except KuronekoError:
            # Refusals are raised before anything is written: keep the caller's own pending
            # work (a host mid-save), only forget unflushed changes to the payment.
            session.expire(payment)
            raise
        except BaseException:
            session.rollback()
            raise
    tx.finish()


def take_over_answer(tx: Tx) -> None:
    """Our journal row was taken over (see :meth:`Tx.take_back`): the sweep settles it."""
    tx.error = OperationPending(f"「{tx.label}」の結果はヤマトに確認中です。自動で確認します。",
                                state=journal.UNKNOWN, operation=tx.operation)


@dataclass
class Request:
    """A changing request ready to be journaled and sent: the client call and the journal
    parameters the sweep needs to settle or resend it."""
    api: Api
    call: Callable[[], Any]
    params: dict


def run(payment_id: int, operation: str, *, actor: str | None,
        prepare: Callable[[Tx], Request | None],
        apply: Callable[[Tx, Any], None],
        refused: Callable[[Tx, Exception], None] | None = None) -> Any:
    """One journaled operation end to end (see the module docstring).

    ``prepare(tx)`` runs under the lock after the transition check: it may refuse (raise, or
    set ``tx.error`` and return None) or return the Request. ``apply(tx, result)`` records
    Yamato's positive answer through the status writer. Failures are recorded by
    :meth:`Tx.fail`; ``refused(tx, exc)`` may add to the record of a refusal (not of a lost
    answer). Returns the payment."""
    with locked(payment_id, operation, actor=actor) as tx:
        request = prepare(tx)
        if request is None:
            return tx.payment
        op = tx.journal_ahead(request.params)
    op_id, owner = op.id, op.claimed_by
    answer = ask_yamato(request.call)
    with locked(payment_id, operation, actor=actor, check=False) as tx:
        op = tx.take_back(op_id, owner)
        if op is None:
            take_over_answer(tx)
        elif answer.ok:
            apply(tx, answer.result)
            journal.settle(op, journal.DONE, payment=tx.payment)
        else:
            tx.fail(op, answer.error, request.api)
            if refused is not None and not isinstance(answer.error, ApiConnectionError):
                refused(tx, answer.error)
    return tx.payment

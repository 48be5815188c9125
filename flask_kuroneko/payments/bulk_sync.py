"""取引状況確認 at scale: every held payment Yamato may still move, oldest sync first, in batches,
with the status inquiries (KAAST0010) sent concurrently.

A status inquiry changes nothing at Yamato, so the inquiries of a batch run in a thread pool
without database work; their answers are then applied in the calling thread:

- Yamato agrees with us (the common case): one UPDATE per distinct (状況, 警報) of the batch
  stamps ``synced_at`` — no row lock, no history, so a sync costs well under two statements per
  payment;
- Yamato disagrees, or a drift is recorded that may now be resolved: the payment goes through
  the pipeline's locked step with the answer already in hand (``sync.apply_answer``);
- no usable answer: the payment keeps its old ``synced_at`` and comes first next time; the tally
  makes the CLI exit non-zero.

Payments with an open operation are left to the journal's settling; payments Yamato will not
move again (取消済み, 入金済み) are not asked.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlalchemy as sa

from ..errors import ApiConnectionError, KuronekoError
from ..models import utcnow
from ..state import current_state
from ..yamato.codes import TransactionStatus as TS
from . import health, status
from .pipeline import Answer, ask_yamato
from .sync import AGREEING, apply_answer

logger = logging.getLogger(__name__)

_HELD = tuple(s.value for s in status.HELD)
_SETTLED_AT_YAMATO = (int(TS.CANCELLED), int(TS.PAID))


@dataclass
class SyncReport:
    """What one sync run did."""
    asked: int = 0
    unchanged: int = 0
    changed: int = 0
    drifts: int = 0
    unreachable: int = 0
    errors: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.unreachable)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in vars(self).items())


def due_query(P: Any, *, now: datetime, interval: timedelta) -> Any:
    """Held payments without an open operation that Yamato may still move, not synced within
    ``interval``, the least recently synced first (never-synced ones before all others)."""
    return (sa.select(P.id, P.order_no, P.status, P.yamato_status, P.yamato_warning, P.drift)
            .where(P.status.in_(_HELD), P.open_operation.is_(None),
                   sa.or_(P.yamato_status.is_(None), P.yamato_status.not_in(_SETTLED_AT_YAMATO)),
                   sa.or_(P.synced_at.is_(None), P.synced_at < now - interval))
            .order_by(P.synced_at.is_not(None), P.synced_at, P.id))


def ask_all(order_nos: list[str], concurrency: int) -> list[Answer]:
    """KAAST0010 for each 決済ID, ``concurrency`` at a time (no database work in the threads)."""
    client = current_state().status_client()
    if concurrency <= 1 or len(order_nos) <= 1:
        return [ask_yamato(client.get_status, n) for n in order_nos]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kuroneko-sync") as pool:
        answers = list(pool.map(lambda n: _ask(client, n), order_nos))
    for answer in answers:                       # the tally lives in this thread's context
        health.record(reached=not isinstance(answer.error, ApiConnectionError))
    return answers


def _ask(client: Any, order_no: str) -> Answer:
    try:
        return Answer(result=client.get_status(order_no))
    except KuronekoError as exc:
        return Answer(error=exc)


def agrees(row: Any, answer: Answer) -> bool:
    return (answer.ok and row.drift is None
            and answer.result.status in AGREEING.get(row.status, ()))


def changed_at(column: Any, stamp: Any, new: int, now: datetime) -> Any:
    """SQL: ``now`` where ``column`` takes a new value, else the old time (yamato_side.learned)."""
    return sa.case((sa.or_(column.is_(None), column != new), now), else_=stamp)


def stamp_unchanged(rows: Iterable[tuple[Any, Answer]], now: datetime) -> int:
    """One UPDATE per distinct (取引状況, 警報): synced_at, yamato_status, yamato_warning (and
    their times when they changed)."""
    state = current_state()
    P = state.models.Payment
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row, answer in rows:
        groups[(int(answer.result.status), int(answer.result.warning))].append(row.id)
    for (yamato, warning), ids in groups.items():
        state.db.session.execute(
            sa.update(P).where(P.id.in_(ids), P.open_operation.is_(None))
            # The times first: MariaDB evaluates SET left to right, with the new values.
            .ordered_values(
                (P.yamato_status_at, changed_at(P.yamato_status, P.yamato_status_at, yamato, now)),
                (P.yamato_warning_at, changed_at(P.yamato_warning, P.yamato_warning_at, warning,
                                                 now)),
                (P.synced_at, now), (P.yamato_status, yamato), (P.yamato_warning, warning))
            .execution_options(synchronize_session=False))
    state.db.session.commit()
    return sum(len(ids) for ids in groups.values())


def sync_due(*, now: datetime | None = None, interval: timedelta, batch: int,
             concurrency: int, limit: int | None = None) -> SyncReport:
    """Sync the due payments (at most ``limit``), ``batch`` at a time."""
    state = current_state()
    session, P = state.db.session, state.models.Payment
    now = now or utcnow()
    report = SyncReport()
    passed: set[int] = set()          # asked without a new synced_at: not again in this run
    while limit is None or report.asked < limit:
        size = batch if limit is None else min(batch, limit - report.asked)
        query = due_query(P, now=now, interval=interval)
        if passed:
            query = query.where(P.id.not_in(passed))
        rows = session.execute(query.limit(size)).all()
        session.rollback()           # end the read: each step locks on its own
        if not rows:
            break
        answers = ask_all([r.order_no for r in rows], concurrency)
        report.asked += len(rows)
        quiet = [(r, a) for r, a in zip(rows, answers) if agrees(r, a)]
        report.unchanged += stamp_unchanged(quiet, now) if quiet else 0
        unreachable = 0
        for row, answer in zip(rows, answers):
            if agrees(row, answer):
                continue
            if not answer.ok and isinstance(answer.error, ApiConnectionError):
                unreachable += 1
                passed.add(row.id)
            elif not apply_one(row, answer, report):
                passed.add(row.id)
        report.unreachable += unreachable
        if len(rows) < size or unreachable == len(rows):     # done, or Yamato is down
            break
    return report


def apply_one(row: Any, answer: Answer, report: SyncReport) -> bool:
    """The locked path for a payment Yamato disagrees about; True when it was applied."""
    session = current_state().db.session
    try:
        payment = apply_answer(row.id, answer)
    except KuronekoError as exc:        # an operation started meanwhile, or Yamato refused
        session.rollback()
        logger.info("kuroneko sync: payment %s skipped: %s", row.order_no, exc)
        return False
    except Exception:
        session.rollback()
        report.errors += 1
        logger.exception("kuroneko sync: payment %s failed", row.order_no)
        return False
    report.changed += 1
    if payment.drift and payment.drift != row.drift:
        report.drifts += 1
    return True

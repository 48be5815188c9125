"""``sweep()``: one pass of background work (CLI ``flask kuroneko sweep`` / ``worker``).

Order matters: unknown outcomes are settled first (from Yamato's answer), so an SMS code
accepted just before a crash makes its payment 与信 before the 30-minute expiry looks at it.

Safe on several workers at once: journaled operations are taken with a claim (journal.py) and
every payment change goes through the pipeline's row lock and transition check, so two workers
never send the same request twice — the loser of a race sees the new status and skips.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import orm

from .. import config
from ..errors import KuronekoError
from ..models import PaymentStatus as S, utcnow
from ..state import current_state
from . import drift, health, journal, runs, status
from .aftersales import retire_replaced
from .recovery import resolve, settle_operation
from .sms import abandon_sms
from .sms_window import sms_window_over
from .bulk_sync import sync_due

logger = logging.getLogger(__name__)

_HELD = tuple(s.value for s in status.HELD)


@dataclass
class SweepReport:
    """What one sweep did (printed by the CLI). ``errors`` > 0 makes the CLI exit non-zero."""
    sms_expired: int = 0
    reviews_checked: int = 0
    reviews_resolved: int = 0
    operations_settled: int = 0
    operations_retrying: int = 0
    operations_failed: int = 0
    replacements_retired: int = 0
    synced: int = 0
    drifts: int = 0
    drifts_resolved: int = 0
    errors: int = 0
    yamato_unreachable: int = 0       # requests that got no usable answer from Yamato

    @property
    def failed(self) -> bool:
        """True when the CLI must exit non-zero: an error, or Yamato out of reach."""
        return bool(self.errors or self.yamato_unreachable)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.as_dict().items())


def _ids(query: Any) -> list[int]:
    session = current_state().db.session
    ids = list(session.scalars(query))
    session.rollback()          # end the read transaction: each payment is then locked on its own
    return ids


def _each(ids: list[int], work: Callable[[int], Any], report: SweepReport) -> list[Any]:
    session = current_state().db.session
    results = []
    for payment_id in ids:
        try:
            results.append(work(payment_id))
        except KuronekoError as exc:      # lost a race, or Yamato refused: logged by the step
            session.rollback()
            logger.info("kuroneko sweep: payment %s skipped: %s", payment_id, exc)
        except Exception:
            session.rollback()
            report.errors += 1
            logger.exception("kuroneko sweep: payment %s failed", payment_id)
    return results


def settle_journal(report: SweepReport, worker_id: str, now: datetime) -> None:
    """Unknown outcomes and queued retries, claimed one by one (dead owners' claims too)."""
    state = current_state()
    for op_id, stale_owner in journal.due(state.db.session, state.models, now=now, limit=200):
        outcome = settle_operation(op_id, worker_id=worker_id, now=now, stale_owner=stale_owner)
        if outcome == journal.DONE:
            report.operations_settled += 1
        elif outcome == journal.FAILED:
            report.operations_failed += 1
        elif outcome in journal.OPEN_STATES:
            report.operations_retrying += 1
        elif outcome == "error":
            report.errors += 1


def sweep(*, now: datetime | None = None, worker_id: str | None = None,
          sync_interval: timedelta | None = None, sync_batch: int | None = None) -> SweepReport:
    """One pass of background work; returns the counts. Safe to run on several workers.
    The status sync asks every held payment not synced within ``sync_interval`` (default
    KURONEKO_SYNC_INTERVAL seconds), ``sync_batch`` (KURONEKO_SYNC_BATCH) at a time."""
    if sync_interval is None:
        sync_interval = timedelta(seconds=config.get("SYNC_INTERVAL"))
    if sync_batch is None:
        sync_batch = config.get("SYNC_BATCH")
    started = utcnow()
    with health.counting() as tally:
        report = sweep_steps(now=now, worker_id=worker_id, sync_interval=sync_interval,
                             sync_batch=sync_batch)
    report.yamato_unreachable = tally.unreachable
    logger.info("kuroneko sweep: %s", report)
    runs.record("sweep", started_at=started, report=report.as_dict(), errors=report.errors,
                unreachable=report.yamato_unreachable, worker=worker_id)
    return report


def sweep_steps(*, now: datetime | None, worker_id: str | None, sync_interval: timedelta,
                sync_batch: int) -> SweepReport:
    state = current_state()
    session, P = state.db.session, state.models.Payment
    now = now or utcnow()
    worker_id = worker_id or journal.claimant("sweep")
    report = SweepReport()

    # 1. Unknown outcomes and queued retries (from Yamato's own answer).
    settle_journal(report, worker_id, now)

    # 2. スマホタイプ: the 30-minute window passed → ask Yamato, then 与信 or 決済不可.
    waiting = [p.id for p in session.scalars(sa.select(P).where(
        P.status == S.AWAITING_SMS.value, P.open_operation.is_(None)))
        if sms_window_over(p, now)]
    session.rollback()
    expired = _each(waiting, lambda pid: abandon_sms(pid, reason="timeout"), report)
    report.sms_expired = sum(1 for p in expired if p.status == S.DECLINED.value)

    # 3. 審査中: poll the credit decision.
    reviews = _ids(sa.select(P.id).where(P.status == S.UNDER_REVIEW.value).order_by(P.id))
    report.reviews_checked = len(reviews)
    resolved = _each(reviews, resolve, report)
    report.reviews_resolved = sum(1 for p in resolved if p.status != S.UNDER_REVIEW.value)

    # 4. Approved re-authorizations whose replaced payment is still held (a crash between
    #    the approval and the cancel of the old payment).
    Old = orm.aliased(P)
    replacing = _ids(sa.select(P.id).join(Old, Old.id == P.replaces_id).where(
        P.status.in_(_HELD), Old.status.in_(_HELD), Old.open_operation.is_(None)))
    retired = _each(replacing, retire_replaced, report)
    report.replacements_retired = len(retired)

    # 5. Status sync of held payments, oldest first, concurrently; drift detection (M25).
    synced = sync_due(now=now, interval=sync_interval, batch=sync_batch,
                      concurrency=config.get("BULK_CONCURRENCY"))
    report.synced = synced.unchanged + synced.changed
    report.drifts = synced.drifts
    report.errors += synced.errors

    # 6. Recorded drifts no sync visits (Yamato no longer holds them; the host's side).
    report.drifts_resolved = drift.review_recorded()
    return report

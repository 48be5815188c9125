"""Where the payments stand, in numbers (``flask kuroneko stats``, the admin's 診断 page):
counts by status, the oldest of what is waiting (an SMS code, a credit review, a journaled
request), the last sweep and sync, open 差異 and payments near Yamato's shipment limit.

One query per figure, each answered from an index; times in Japan time (ISO 8601, +09:00).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from ..models import PaymentStatus as S, utcnow
from ..state import current_state
from ..yamato.timezone import JST
from . import drift, journal, runs, ship_window


def jst_iso(moment: datetime | None) -> str | None:
    """A naive-UTC time of our tables as Japan time, ISO 8601."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(JST).isoformat(timespec="seconds")


def oldest(moment: datetime | None, now: datetime) -> dict[str, Any] | None:
    if moment is None:
        return None
    return {"at": jst_iso(moment), "age_seconds": max(0, int((now - moment).total_seconds()))}


def run_summary(run: Any) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"started_at": jst_iso(run.started_at), "finished_at": jst_iso(run.finished_at),
            "duration_ms": run.duration_ms, "errors": run.errors,
            "unreachable": run.unreachable, "worker": run.worker, "report": run.report}


def collect(*, now: datetime | None = None) -> dict[str, Any]:
    """The figures as a JSON-able dict."""
    state = current_state()
    session, models = state.db.session, state.models
    P, Op, E = models.Payment, models.Operation, models.ErrorLog
    now = now or utcnow()
    counts = {s.value: 0 for s in S}
    for value, count in session.execute(sa.select(P.status, sa.func.count(P.id))
                                        .group_by(P.status)):
        counts[value] = count
    waiting_sms = session.scalar(sa.select(sa.func.min(P.sms_sent_at))
                                 .where(P.status == S.AWAITING_SMS.value))
    review = session.scalar(sa.select(sa.func.min(P.created_at))
                            .where(P.status == S.UNDER_REVIEW.value))
    journaled = session.scalar(sa.select(sa.func.min(Op.created_at))
                               .where(Op.state.in_(journal.OPEN_STATES)))
    figures = {
        "generated_at": jst_iso(now),
        "payments_by_status": counts,
        "oldest_waiting_sms": oldest(waiting_sms, now),
        "oldest_under_review": oldest(review, now),
        "oldest_open_journal_entry": oldest(journaled, now),
        "open_journal_entries": session.scalar(
            sa.select(sa.func.count(Op.id)).where(Op.state.in_(journal.OPEN_STATES))) or 0,
        "last_sweep": run_summary(runs.last("sweep")),
        "last_sync": run_summary(runs.last("sync")),
        "open_drifts": drift.open_count(),
        "ship_window_closing": session.scalar(
            sa.select(sa.func.count(P.id)).where(ship_window.closing_condition(P))) or 0,
        "error_log_entries": session.scalar(sa.select(sa.func.count(E.id))) or 0,
    }
    session.rollback()          # a read: leave no transaction open
    return figures

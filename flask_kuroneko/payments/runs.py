"""The record of background runs (``kuroneko_runs``): every sweep and ``flask kuroneko sync``
writes one row — when it started, how long it took, its errors and what it counted — so
``flask kuroneko stats`` and the 診断 page can say when the sweep last ran and how it went.

Recording never breaks the run it records: a failure to write is logged and forgotten. Rows
older than :data:`KEEP_DAYS` are deleted as new ones are written.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..models import utcnow
from ..state import current_state

logger = logging.getLogger(__name__)

KEEP_DAYS = 30


def record(kind: str, *, started_at: datetime, report: dict[str, Any], errors: int,
           unreachable: int, worker: str | None = None, now: datetime | None = None) -> None:
    """Write one run (committed on its own, after the run's own work)."""
    state = current_state()
    session, Run = state.db.session, state.models.Run
    finished = now or utcnow()
    try:
        session.rollback()                 # whatever the run left open is not ours to commit
        session.add(Run(kind=kind[:16], started_at=started_at, finished_at=finished,
                        duration_ms=max(0, int((finished - started_at).total_seconds() * 1000)),
                        errors=int(errors), unreachable=int(unreachable),
                        report=dict(report), worker=(worker or None) and worker[:64]))
        session.execute(sa.delete(Run).where(Run.kind == kind,
                                             Run.started_at < finished - timedelta(days=KEEP_DAYS)))
        session.commit()
    except Exception:
        session.rollback()
        logger.exception("kuroneko: the %s run could not be recorded", kind)


def last(kind: str) -> Any | None:
    """The newest run of ``kind``, or None."""
    state = current_state()
    Run = state.models.Run
    return state.db.session.scalars(
        sa.select(Run).where(Run.kind == kind).order_by(Run.id.desc()).limit(1)).first()

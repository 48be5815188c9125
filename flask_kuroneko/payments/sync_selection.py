"""「取引状況確認」 for payments the admin selected (the 決済一覧's checkboxes): the inquiries run
concurrently (``KURONEKO_BULK_CONCURRENCY``), then each answer is applied as in the sync at
scale (bulk_sync.py): agreeing payments stamped in bulk, the others through the locked step.

Payments Yamato is not asked about here: those with an unsettled request (the journal settles
them) and those in a status 取引状況確認 does not start from (決済処理中, 決済不可).
"""
from __future__ import annotations

import logging
from typing import Iterable

import sqlalchemy as sa

from ..errors import ApiConnectionError
from ..models import utcnow
from ..state import current_state
from . import transitions
from .bulk_sync import SyncReport, agrees, apply_one, ask_all, stamp_unchanged

logger = logging.getLogger(__name__)

#: The most payments one request may ask about (the list shows 50 a page).
MAX_SELECTION = 200
_SYNCABLE = tuple(s.value for s in transitions.ALLOWED["sync_status"])


def sync_selected(payment_ids: Iterable[int], *, concurrency: int) -> tuple[SyncReport, int]:
    """Ask Yamato about the selected payments; returns (report, how many were skipped)."""
    state = current_state()
    session, P = state.db.session, state.models.Payment
    ids = sorted({int(i) for i in payment_ids})[:MAX_SELECTION]
    rows = session.execute(
        sa.select(P.id, P.order_no, P.status, P.yamato_status, P.yamato_warning, P.drift)
        .where(P.id.in_(ids), P.status.in_(_SYNCABLE), P.open_operation.is_(None))
        .order_by(P.id)).all() if ids else []
    session.rollback()                  # end the read: each step locks on its own
    report = SyncReport()
    if rows:
        now = utcnow()
        answers = ask_all([r.order_no for r in rows], concurrency)
        report.asked = len(rows)
        quiet = [(r, a) for r, a in zip(rows, answers) if agrees(r, a)]
        report.unchanged = stamp_unchanged(quiet, now) if quiet else 0
        for row, answer in zip(rows, answers):
            if agrees(row, answer):
                continue
            if not answer.ok and isinstance(answer.error, ApiConnectionError):
                report.unreachable += 1
            else:
                apply_one(row, answer, report)    # refusals are logged, failures counted
    logger.info("kuroneko: 取引状況確認 of %s selected payments: %s", len(ids), report)
    return report, len(ids) - len(rows)

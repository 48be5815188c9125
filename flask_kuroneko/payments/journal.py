"""Journal of Yamato calls that are not settled yet (``Operation`` rows) and their claims.

States:
  ``unknown`` — the request may have reached Yamato but no answer came back (timeout, dropped
                connection), or it is still in flight (written ahead of KAARA0010 and claimed by
                the request). Resolved by asking Yamato, never guessed.
  ``queued``  — the request certainly did not reach Yamato; sending it again is safe.
  ``done`` / ``failed`` — settled (failed = Yamato refused it, or retries ran out; see ErrorLog).

While a payment has an unsettled operation (``Payment.open_operation``), every other changing
operation on it is refused (see ``pipeline.locked``): this is what keeps "nothing done twice".

Claims: a worker (or the request that wrote the row ahead of its call) owns an operation while
``claimed_until`` is in the future. Taking a claim is one conditional UPDATE, committed at
once, so on PostgreSQL, MariaDB and SQLite exactly one of several workers wins it. A claim names
its process (``host:pid:token``, see :func:`claimant`): when that process is known to be gone
(same host, no such pid), the claim is stale at once — a killed web process or worker does not
block the next sweep until ``claimed_until``.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm

from ..models import utcnow

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
QUEUED = "queued"
DONE = "done"
FAILED = "failed"
OPEN_STATES = (UNKNOWN, QUEUED)

#: After this many sweep attempts a queued/unknown operation is given up (state failed,
#: error log) so an administrator looks at it.
MAX_ATTEMPTS = 12


_HOST = socket.gethostname()


def claimant(role: str = "") -> str:
    """A claim owner naming this process: ``host:pid:role-token`` (at most 64 characters)."""
    token = f"{role}-{secrets.token_hex(4)}" if role else secrets.token_hex(4)
    return f"{_HOST[:30]}:{os.getpid()}:{token}"[:64]


def process_gone(owner: str | None) -> bool:
    """True when ``owner`` (see :func:`claimant`) names a process of this host that no longer
    runs (or is a zombie). Claims of other hosts are never judged gone: wait for their expiry."""
    try:
        host, pid_text, _ = (owner or "").split(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != _HOST[:30] or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 1, 2, 4 … minutes, at most one hour."""
    return timedelta(seconds=min(60 * 2 ** max(attempts, 0), 3600))


def open_operation(session: orm.Session, models, payment_id: int):
    """The unsettled operation of a payment, or None."""
    Op = models.Operation
    return session.execute(
        sa.select(Op).where(Op.payment_id == payment_id, Op.state.in_(OPEN_STATES))
        .order_by(Op.id).limit(1)).scalar_one_or_none()


def add(session: orm.Session, models, payment, operation: str, state: str, params: dict, *,
        error: str | None = None, now: datetime | None = None,
        claimed_by: str | None = None, claim_seconds: float | None = None,
        first_attempt_after: timedelta | None = None):
    """Journal an operation of ``payment`` (added to ``session``; the caller commits)."""
    now = now or utcnow()
    claimed_until = now + timedelta(seconds=claim_seconds) if claimed_by and claim_seconds else None
    op = models.Operation(
        payment_id=payment.id, operation=operation, params=params, state=state, attempts=0,
        next_attempt_at=now + (first_attempt_after or timedelta(0)),
        claimed_by=claimed_by, claimed_until=claimed_until, last_error=error, created_at=now)
    session.add(op)
    payment.open_operation = operation
    logger.info("kuroneko journal: %s %s for payment %s (%s)", state, operation, payment.order_no,
                error or "-")
    return op


def claim(session: orm.Session, models, op_id: int, worker_id: str, *, seconds: float,
          now: datetime | None = None, stale_owner: str | None = None) -> bool:
    """Take the claim of an open operation; True when this worker won it (committed).

    ``stale_owner``: take the claim from that owner even before it expires (its process is
    gone, see :func:`process_gone`) — still one conditional UPDATE, so one taker wins."""
    now = now or utcnow()
    Op = models.Operation
    free = sa.or_(Op.claimed_until.is_(None), Op.claimed_until < now)
    if stale_owner is not None:
        free = sa.or_(free, Op.claimed_by == stale_owner)
    result = session.execute(
        sa.update(Op)
        .where(Op.id == op_id, Op.state.in_(OPEN_STATES), free)
        .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False))
    session.commit()
    won = result.rowcount == 1
    logger.debug("kuroneko journal: claim op %s by %s -> %s", op_id, worker_id, won)
    return won


def due(session: orm.Session, models, *, now: datetime | None = None,
        limit: int = 100) -> list[tuple[int, str | None]]:
    """(id, stale owner or None) of open operations whose next attempt is due and that are not
    claimed — or claimed by a process known to be gone."""
    now = now or utcnow()
    Op = models.Operation
    rows = session.execute(
        sa.select(Op.id, Op.claimed_by, Op.claimed_until).where(
            Op.state.in_(OPEN_STATES), Op.next_attempt_at <= now)
        .order_by(Op.next_attempt_at, Op.id).limit(limit)).all()
    found = []
    for op_id, owner, until in rows:
        if until is None or until < now:
            found.append((op_id, None))
        elif process_gone(owner):
            logger.info("kuroneko journal: op %s claimed by %s, whose process is gone", op_id, owner)
            found.append((op_id, owner))
    return found


def release(op, state: str, *, error: str | None = None, now: datetime | None = None) -> None:
    """An unanswered request: keep ``op`` open in ``state`` (unknown/queued), drop the claim,
    due at once for the sweep (whose own attempts then back off, see :func:`settle`)."""
    op.state = state
    op.claimed_by = op.claimed_until = None
    op.next_attempt_at = now or utcnow()
    if error is not None:
        op.last_error = error
    logger.info("kuroneko journal: op %s %s left %s for the sweep", op.id, op.operation, state)


def settle(op, state: str, *, payment, now: datetime | None = None,
           error: str | None = None) -> None:
    """Mark ``op`` done/failed (or back to queued/unknown for a later attempt) and release it;
    a settled operation frees its (locked) ``payment`` for the next operation."""
    now = now or utcnow()
    op.state = state
    op.claimed_by = None
    op.claimed_until = None
    if error is not None:
        op.last_error = error
    if state in (DONE, FAILED):
        op.resolved_at = now
        if payment.open_operation == op.operation:
            payment.open_operation = None
    else:
        op.attempts = (op.attempts or 0) + 1
        op.next_attempt_at = now + backoff(op.attempts)
    logger.info("kuroneko journal: op %s %s -> %s", op.id, op.operation, state)

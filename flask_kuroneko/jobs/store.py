"""Jobs and their items in the database: create, claim, finish, postpone, cancel, count.

Claims follow the journal's model (``payments/journal.py``): an item is taken with one
conditional UPDATE (``state='pending'`` → ``running`` with this runner's claim token),
committed at once, so on PostgreSQL, MariaDB and SQLite exactly one runner gets each item —
however many worker threads, worker processes or Celery workers ask at the same moment. A
claim token names its process (``journal.claimant``): the items of a runner that was killed
are taken over at once by the next runner on the same host (``journal.process_gone``), on
another host when ``claimed_until`` has passed.

Every function ends its transaction (commit or rollback) before it returns: a runner thread
never holds one open across a Yamato call, and a MariaDB REPEATABLE READ snapshot never hides
another runner's work from the next query.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ..models import utcnow
from ..payments import journal
from ..state import current_state
from .outcomes import ACTIVE_STATES, FAILED, ItemState, JobKind, JobState, Outcome

logger = logging.getLogger(__name__)

#: How long a runner owns a claimed item: longer than any item takes (a few Yamato calls,
#: each with KURONEKO_TIMEOUT); a dead runner's items on this host are taken over at once.
CLAIM_SECONDS = 600
INSERT_BATCH = 1000
PENDING, RUNNING, DONE = ItemState.PENDING.value, ItemState.RUNNING.value, ItemState.DONE.value
CANCELLED_MESSAGE = "中止しました（実行前に中止されたため、この注文には何もしていません）。"


@dataclass
class ItemSpec:
    """One item of a new job. With ``outcome`` it is created finished (a B2 row that cannot
    be acted on: its report line is the item)."""
    key: str
    payment_id: int | None = None
    order_no: str | None = None
    host_order_id: str | None = None
    params: dict = field(default_factory=dict)
    outcome: Outcome | None = None
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """What running an item came to."""
    outcome: Outcome
    message: str
    code: str | None = None


@dataclass(frozen=True)
class Postponed:
    """An item given back for a later attempt (its outcome is being confirmed)."""
    delay: timedelta
    message: str


def _db() -> tuple[Any, Any]:
    state = current_state()
    return state.db.session, state.models


# --------------------------------------------------------------------------- jobs


def create(kind: JobKind, specs: Iterable[ItemSpec], *, created_by: str | None, params: dict,
           runner: str) -> Any:
    """A new job with its items (committed). A job without anything to run is born done."""
    session, m = _db()
    specs = list(specs)
    now = utcnow()
    job = m.Job(kind=kind.value, state=JobState.QUEUED.value, runner=runner,
                created_by=(created_by or "")[:64] or None, created_at=now, total=len(specs),
                params=params)
    session.add(job)
    session.flush()
    rows = [{"job_id": job.id, "seq": seq, "key": (spec.key or "")[:64],
             "payment_id": spec.payment_id, "order_no": spec.order_no,
             "host_order_id": spec.host_order_id, "params": spec.params,
             "state": DONE if spec.outcome else PENDING,
             "outcome": spec.outcome.value if spec.outcome else None, "code": spec.code,
             "message": spec.message, "attempts": 0, "next_attempt_at": now,
             "finished_at": now if spec.outcome else None}
            for seq, spec in enumerate(specs, start=1)]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(sa.insert(m.JobItem), rows[start:start + INSERT_BATCH])
    if not any(spec.outcome is None for spec in specs):
        job.state, job.started_at, job.finished_at = JobState.DONE.value, now, now
    session.commit()
    logger.info("kuroneko job %s (%s) created by %s: %d items", job.id, kind.value, created_by,
                len(specs))
    return job


#: Largest id the tables hold (an id from a URL or the command line beyond it is unknown).
MAX_ID = 2**31 - 1


def get_job(job_id: int) -> Any | None:
    if not 0 < int(job_id) <= MAX_ID:
        return None
    session, m = _db()
    return session.get(m.Job, int(job_id), populate_existing=True)


def mark_running(job_id: int) -> None:
    session, m = _db()
    J = m.Job
    session.execute(sa.update(J).where(J.id == job_id, J.state == JobState.QUEUED.value)
                    .values(state=JobState.RUNNING.value,
                            started_at=sa.func.coalesce(J.started_at, utcnow()))
                    .execution_options(synchronize_session=False))
    session.commit()


def unfinished(job_id: int) -> int:
    session, m = _db()
    I = m.JobItem
    count = session.scalar(sa.select(sa.func.count(I.id))
                           .where(I.job_id == job_id, I.state != DONE)) or 0
    session.rollback()
    return count


def finalize(job_id: int) -> bool:
    """Mark the job done (or a cancelled one finished) when no item is left; True if so."""
    if unfinished(job_id):
        return False
    session, m = _db()
    J = m.Job
    now = utcnow()
    session.execute(sa.update(J).where(J.id == job_id, J.state.in_(ACTIVE_STATES))
                    .values(state=JobState.DONE.value, finished_at=now,
                            started_at=sa.func.coalesce(J.started_at, now))
                    .execution_options(synchronize_session=False))
    session.execute(sa.update(J).where(J.id == job_id, J.state == JobState.CANCELLED.value,
                                       J.finished_at.is_(None))
                    .values(finished_at=now).execution_options(synchronize_session=False))
    session.commit()
    return True


def is_active(job_id: int) -> bool:
    session, m = _db()
    state = session.scalar(sa.select(m.Job.state).where(m.Job.id == job_id))
    session.rollback()
    return state in ACTIVE_STATES


def cancel(job_id: int, actor: str | None) -> int | None:
    """中止: items not started yet are closed as cancelled (running ones finish). Returns how
    many were cancelled, None when the job is not running or waiting."""
    session, m = _db()
    J, I = m.Job, m.JobItem
    moved = session.execute(sa.update(J).where(J.id == job_id, J.state.in_(ACTIVE_STATES))
                            .values(state=JobState.CANCELLED.value,
                                    cancelled_by=(actor or "")[:64] or None)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        session.rollback()
        return None
    count = session.execute(sa.update(I).where(I.job_id == job_id, I.state == PENDING)
                            .values(state=DONE, outcome=Outcome.CANCELLED.value,
                                    message=CANCELLED_MESSAGE, finished_at=utcnow())
                            .execution_options(synchronize_session=False)).rowcount
    session.commit()
    finalize(job_id)
    logger.info("kuroneko job %s cancelled by %s: %d items not run", job_id, actor, count)
    return count


def retry_failed(job_id: int) -> int:
    """「失敗分を再実行」: the items that ended in an error are run again (the job is queued)."""
    session, m = _db()
    J, I = m.Job, m.JobItem
    count = session.execute(sa.update(I).where(I.job_id == job_id, I.state == DONE,
                                               I.outcome.in_(FAILED))
                            .values(state=PENDING, outcome=None, code=None, message=None,
                                    attempts=0, next_attempt_at=utcnow(), finished_at=None,
                                    finished_by=None)
                            .execution_options(synchronize_session=False)).rowcount
    if count:
        session.execute(sa.update(J).where(J.id == job_id, J.kind != JobKind.B2_EXPORT.value)
                        .values(state=sa.case((J.state == JobState.RUNNING.value, J.state),
                                              else_=JobState.QUEUED.value),
                                finished_at=None)
                        .execution_options(synchronize_session=False))
    session.commit()
    logger.info("kuroneko job %s: %d failed items queued again", job_id, count)
    return count


def set_dispatched(job_id: int) -> None:
    session, m = _db()
    session.execute(sa.update(m.Job).where(m.Job.id == job_id).values(dispatched_at=utcnow())
                    .execution_options(synchronize_session=False))
    session.commit()


def active_jobs(runner: str | None = None, limit: int = 50) -> list[int]:
    session, m = _db()
    J = m.Job
    query = sa.select(J.id).where(J.state.in_(ACTIVE_STATES)).order_by(J.id).limit(limit)
    if runner is not None:
        query = query.where(J.runner == runner)
    ids = list(session.scalars(query))
    session.rollback()
    return ids


# --------------------------------------------------------------------------- claims


def claim(job_id: int, limit: int, *, now: datetime | None = None) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due pending items of the job with one conditional UPDATE; returns
    the claim token and the ids this runner won (possibly none: another runner was quicker)."""
    session, m = _db()
    I = m.JobItem
    now = now or utcnow()
    token = journal.claimant("job")
    candidates = list(session.scalars(
        sa.select(I.id).where(I.job_id == job_id, I.state == PENDING, I.next_attempt_at <= now)
        .order_by(I.seq).limit(limit)))
    if not candidates:
        session.rollback()
        return token, []
    try:
        session.execute(
            sa.update(I).where(I.id.in_(candidates), I.state == PENDING)
            .values(state=RUNNING, claimed_by=token,
                    claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                    attempts=I.attempts + 1, started_at=sa.func.coalesce(I.started_at, now))
            .execution_options(synchronize_session=False))
        session.commit()
    except DBAPIError as exc:      # a deadlock victim on a busy server: claim again later
        session.rollback()
        logger.info("kuroneko job %s: claim lost to another runner (%s)", job_id,
                    type(exc.orig).__name__)
        return token, []
    won = list(session.scalars(sa.select(I.id).where(I.claimed_by == token, I.state == RUNNING)
                               .order_by(I.seq)))
    session.rollback()
    return token, won


def stale_items(job_id: int, *, now: datetime | None = None) -> list[tuple[int, str | None]]:
    """(id, owner) of running items whose claim expired or whose runner process is gone."""
    session, m = _db()
    I = m.JobItem
    now = now or utcnow()
    rows = session.execute(sa.select(I.id, I.claimed_by, I.claimed_until)
                           .where(I.job_id == job_id, I.state == RUNNING).order_by(I.seq)
                           .limit(500)).all()
    session.rollback()
    return [(item_id, owner) for item_id, owner, until in rows
            if until is None or until < now or journal.process_gone(owner)]


def reclaim(items: list[tuple[int, str | None]], *, now: datetime | None = None
            ) -> tuple[str, list[int]]:
    """Take over stale items (see :func:`stale_items`), each with one conditional UPDATE."""
    session, m = _db()
    I = m.JobItem
    now = now or utcnow()
    token = journal.claimant("job")
    won = []
    for item_id, owner in items:
        owned = I.claimed_by.is_(None) if owner is None else I.claimed_by == owner
        moved = session.execute(
            sa.update(I).where(I.id == item_id, I.state == RUNNING, owned)
            .values(claimed_by=token, claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                    attempts=I.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
        if moved == 1:
            logger.info("kuroneko job item %s taken over from %s", item_id, owner)
            won.append(item_id)
    return token, won


def release(items: list[tuple[int, str]]) -> None:
    """Give claimed items that were never started back to the job (a runner stopping)."""
    session, m = _db()
    I = m.JobItem
    for item_id, token in items:
        session.execute(sa.update(I).where(I.id == item_id, I.claimed_by == token,
                                           I.state == RUNNING)
                        .values(state=PENDING, claimed_by=None, claimed_until=None,
                                attempts=I.attempts - 1)
                        .execution_options(synchronize_session=False))
    session.commit()


def next_due(job_id: int, *, pending_only: bool = False) -> datetime | None:
    """When something of the job can be claimed next (None: nothing left to run); with
    ``pending_only`` the claims of running items are left out."""
    session, m = _db()
    I = m.JobItem
    pending = session.scalar(sa.select(sa.func.min(I.next_attempt_at))
                             .where(I.job_id == job_id, I.state == PENDING))
    running = None if pending_only else session.scalar(
        sa.select(sa.func.min(I.claimed_until)).where(I.job_id == job_id, I.state == RUNNING))
    session.rollback()
    times = [t for t in (pending, running) if t is not None]
    return min(times) if times else None


def held_elsewhere(job_id: int) -> bool:
    """True while items of the job are running (claimed by some runner)."""
    session, m = _db()
    I = m.JobItem
    found = session.scalar(sa.select(I.id).where(I.job_id == job_id, I.state == RUNNING)
                           .limit(1)) is not None
    session.rollback()
    return found


# --------------------------------------------------------------------------- one item


def load_item(item_id: int) -> Any | None:
    session, m = _db()
    return session.get(m.JobItem, int(item_id), populate_existing=True)


def _owned_update(item_id: int, token: str, *, commit: bool = True, **values: Any) -> bool:
    session, m = _db()
    I = m.JobItem
    moved = session.execute(sa.update(I).where(I.id == item_id, I.claimed_by == token,
                                               I.state == RUNNING)
                            .values(**values).execution_options(synchronize_session=False))
    if commit:
        session.commit()
    return moved.rowcount == 1


def note(item_id: int, token: str, *, commit: bool = True, **values: Any) -> bool:
    """Record facts on a claimed item (its payment, the payment's status before the first
    attempt) — only while this runner still owns it. ``commit=False``: the caller's next
    commit (the capture's journal row) makes it durable together with what it records."""
    return _owned_update(item_id, token, commit=commit, **values)


def _closing_values(token: str, result: ItemResult | Postponed) -> dict[str, Any]:
    now = utcnow()
    if isinstance(result, Postponed):
        return {"state": PENDING, "claimed_by": None, "claimed_until": None,
                "next_attempt_at": now + result.delay, "message": result.message}
    return {"state": DONE, "outcome": result.outcome.value,
            "code": (result.code or None) and str(result.code)[:32], "message": result.message,
            "claimed_by": None, "claimed_until": None, "finished_at": now,
            "finished_by": token[:64]}


def finish(item_id: int, token: str, result: ItemResult) -> bool:
    """Close a claimed item with its result; False when the claim was lost meanwhile."""
    return _owned_update(item_id, token, **_closing_values(token, result))


def postpone(item_id: int, token: str, *, delay: timedelta, message: str) -> bool:
    """Give a claimed item back for a later attempt (an outcome still being confirmed)."""
    return _owned_update(item_id, token, **_closing_values(token, Postponed(delay, message)))


def record(results: list[tuple[int, str, ItemResult | Postponed]]) -> int:
    """Write several items' results in one transaction (a runner's batch), each only while
    its claim still holds; returns how many were written. A runner that dies before this
    commit leaves the items claimed: the next runner finds their payments as the captures
    left them (the pipeline's own commits) and records the same outcomes."""
    if not results:
        return 0
    session, m = _db()
    I = m.JobItem
    written = 0
    for item_id, token, result in results:
        written += session.execute(
            sa.update(I).where(I.id == item_id, I.claimed_by == token, I.state == RUNNING)
            .values(**_closing_values(token, result))
            .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if written != len(results):
        logger.warning("kuroneko jobs: %d of %d results not written (claims lost)",
                       len(results) - written, len(results))
    return written


# --------------------------------------------------------------------------- reading


def counts(job_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per job: items per state (pending/running/done) and per outcome."""
    ids = [int(i) for i in job_ids]
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not ids:
        return {}
    session, m = _db()
    I = m.JobItem
    rows = session.execute(sa.select(I.job_id, I.state, I.outcome, sa.func.count(I.id))
                           .where(I.job_id.in_(ids)).group_by(I.job_id, I.state, I.outcome))
    for job_id, state, outcome, n in rows:
        out[job_id][state] += n
        if outcome:
            out[job_id][outcome] += n
    session.rollback()
    return {job_id: dict(out[job_id]) for job_id in ids}


def items(job_id: int, *, outcomes: tuple[str, ...] | None = None, offset: int = 0,
          limit: int | None = None) -> tuple[int, list[Any]]:
    """(total, items in job order) with the given outcomes (None = all)."""
    session, m = _db()
    I = m.JobItem
    query = sa.select(I).where(I.job_id == job_id)
    if outcomes is not None:
        query = query.where(I.outcome.in_(outcomes))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    query = query.order_by(I.seq).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return total, list(session.scalars(query))


def jobs_page(*, kinds: tuple[str, ...] | None = None, offset: int = 0,
              limit: int = 50) -> tuple[int, list[Any]]:
    session, m = _db()
    J = m.Job
    query = sa.select(J)
    if kinds:
        query = query.where(J.kind.in_(kinds))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    return total, list(session.scalars(query.order_by(J.id.desc()).offset(offset).limit(limit)))


def previous_import(sha256: str) -> Any | None:
    """The latest B2 import of a file with these bytes (a re-upload is recognised)."""
    session, m = _db()
    J = m.Job
    for job in session.scalars(sa.select(J).where(J.kind == JobKind.B2_IMPORT.value)
                               .order_by(J.id.desc()).limit(200)):
        if (job.params or {}).get("sha256") == sha256:
            return job
    return None


def last_exports(payment_ids: Iterable[int]) -> dict[int, datetime]:
    """When each payment was last written to a B2 export file."""
    ids = [int(i) for i in payment_ids]
    if not ids:
        return {}
    session, m = _db()
    I = m.JobItem
    rows = session.execute(
        sa.select(I.payment_id, sa.func.max(I.finished_at))
        .join(m.Job, m.Job.id == I.job_id)
        .where(m.Job.kind == JobKind.B2_EXPORT.value, I.outcome == Outcome.EXPORTED.value,
               I.payment_id.in_(ids))
        .group_by(I.payment_id))
    return {pid: when for pid, when in rows}

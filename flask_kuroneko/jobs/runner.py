"""The embedded runner: ``flask kuroneko worker`` runs bulk jobs between two sweeps.

Nothing else to install: the worker the shop already runs beside the web process (for the
sweep) looks for queued jobs every KURONEKO_JOBS_POLL_INTERVAL seconds and runs them with
KURONEKO_BULK_CONCURRENCY threads until the next sweep is due; then the sweep runs and the job
continues. Several workers share a job item by item (claims). It also takes over the items of
a runner that died (its claims are stale) and re-hands stalled Celery jobs to Celery.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from .. import config
from ..models import utcnow
from ..state import current_state
from . import dispatch, engine, store

logger = logging.getLogger(__name__)

#: A Celery job none of whose items moved for this long is handed to Celery again.
CELERY_STALL = timedelta(minutes=10)


def runnable_job() -> int | None:
    """The oldest job of the embedded runner with something claimable now (jobs with nothing
    left are closed on the way)."""
    now = utcnow()
    for job_id in store.active_jobs(dispatch.WORKER):
        if store.finalize(job_id):
            continue
        due = store.next_due(job_id)
        if due is not None and due <= now or store.stale_items(job_id, now=now):
            return job_id
    return None


def redispatch_stalled() -> int:
    """Celery jobs whose chunk tasks were lost (a broker flush, a dead worker without late
    acknowledgement): hand them over again, at most every CELERY_STALL."""
    if current_state().celery_app is None:
        return 0
    count = 0
    now = utcnow()
    for job_id in store.active_jobs(dispatch.CELERY):
        job = store.get_job(job_id)
        if store.finalize(job_id) or job is None:
            continue
        if job.dispatched_at is None or job.dispatched_at < now - CELERY_STALL:
            due = store.next_due(job_id)
            if due is not None and due <= now:
                dispatch.submit(job, chunks=1)
                count += 1
    return count


def work(worker_id: str, stop: threading.Event, seconds: float) -> int:
    """Run jobs for ``seconds`` (returns early when ``stop`` is set); returns the items run.
    Without jobs it waits, looking every KURONEKO_JOBS_POLL_INTERVAL seconds."""
    deadline = time.monotonic() + seconds
    poll = config.get("JOBS_POLL_INTERVAL")
    session = current_state().db.session
    processed = 0
    redispatch_stalled()
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        job_id = runnable_job()
        if job_id is None:
            stop.wait(min(poll, remaining))
            continue
        logger.info("kuroneko worker %s: running job %s", worker_id, job_id)
        report = engine.run_job(job_id, deadline=deadline, stop=stop)
        processed += report.processed
        session.remove()
        if report.processed == 0:
            stop.wait(min(poll, max(deadline - time.monotonic(), 0)))
    return processed

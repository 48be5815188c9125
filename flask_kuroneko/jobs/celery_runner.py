"""Bulk jobs on the shop's own Celery (for shops that outgrow one machine).

Following Flask's "Background Tasks with Celery" pattern, the shop's Celery app runs its tasks
inside an app context of the shop's factory (``FlaskTask``); ``kuroneko.init_celery(celery_app)``
registers two tasks on it:

``flask_kuroneko.jobs.run_chunk(job_id)``
    claims and runs up to KURONEKO_JOBS_CHUNK_SIZE items of the job with
    KURONEKO_BULK_CONCURRENCY threads, then queues the next chunk while work is left (with a
    countdown when the rest is only due later). A job is handed over as
    KURONEKO_JOBS_CELERY_CHUNKS chunks at once, so that many Celery workers share it; items are
    claimed in the database, so any number of chunks, workers and redeliveries run each item
    once (the same guarantee as the embedded worker).
``flask_kuroneko.jobs.resume_stalled()``
    hands over again the Celery jobs whose chunks were lost; schedule it with beat every few
    minutes if the shop does not run ``flask kuroneko worker`` (which does it anyway).

Pass ``app`` when the Celery app's tasks do not run in an app context by themselves.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from flask import has_app_context

from .. import config
from ..errors import ConfigurationError
from ..models import utcnow
from . import dispatch, engine, runner, store

logger = logging.getLogger(__name__)


def queue_chunk(job_id: int, countdown: float | None = None) -> None:
    dispatch.celery_app().send_task(dispatch.RUN_CHUNK_TASK, args=(job_id,), countdown=countdown)
    store.set_dispatched(job_id)


def run_chunk(job_id: int) -> int:
    """One chunk of the job (inside an app context); returns the items run. The next chunk is
    queued as soon as this one has claimed its last item (it starts while this one finishes);
    a chunk that found only items due later queues the next one for then."""
    job_id = int(job_id)
    queued = []

    def next_chunk() -> None:
        if store.next_due(job_id, pending_only=True) is not None:
            queue_chunk(job_id)
            queued.append(True)

    report = engine.run_job(job_id, max_items=config.get("JOBS_CHUNK_SIZE"),
                            on_last_claim=next_chunk)
    if report.finished or queued or not store.is_active(job_id):
        return report.processed
    due = store.next_due(job_id, pending_only=True)
    if due is not None:        # the rest is due later (outcomes being confirmed)
        queue_chunk(job_id, countdown=max((due - utcnow()).total_seconds(), 1.0))
    return report.processed


def register(celery_app: Any, extension: Any, app: Any = None) -> None:
    """Register the tasks on ``celery_app`` and remember it on the extension."""
    def context() -> Any:
        if has_app_context():
            return nullcontext()
        if app is None:
            raise ConfigurationError(
                "kuroneko's Celery tasks need an app context: use Flask's FlaskTask pattern "
                "(celery_app.Task runs tasks in app.app_context()) or call "
                "kuroneko.init_celery(celery_app, app=app).")
        return app.app_context()

    # shared=False: the tasks belong to this Celery app only (a shared task would be added to
    # every Celery app created later in the process, each with this app's closure)
    @celery_app.task(name=dispatch.RUN_CHUNK_TASK, ignore_result=True, shared=False)
    def run_chunk_task(job_id: int) -> int:
        with context():
            return run_chunk(job_id)

    @celery_app.task(name=dispatch.RESUME_TASK, ignore_result=True, shared=False)
    def resume_stalled_task() -> int:
        with context():
            return runner.redispatch_stalled()

    extension.celery_app = celery_app
    logger.info("kuroneko: bulk jobs registered on Celery app %r", celery_app.main)

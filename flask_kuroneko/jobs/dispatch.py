"""Which runner executes a new job, and handing it over.

``worker`` (the default): the embedded runner in ``flask kuroneko worker`` picks queued jobs up
by itself (it looks every KURONEKO_JOBS_POLL_INTERVAL seconds); nothing to hand over.
``celery``: the shop's Celery app runs the job in chunks (``celery_runner``); the job is handed
over as KURONEKO_JOBS_CELERY_CHUNKS chunk tasks (by task name, so the web process needs only
the Celery app, not our task module) and each chunk queues the next while work is left.
"""
from __future__ import annotations

import logging
import math
from typing import Any

from .. import config
from ..errors import ConfigurationError
from ..state import current_state
from . import store

logger = logging.getLogger(__name__)

WORKER = "worker"
CELERY = "celery"
RUN_CHUNK_TASK = "flask_kuroneko.jobs.run_chunk"
RESUME_TASK = "flask_kuroneko.jobs.resume_stalled"


def celery_app() -> Any | None:
    return current_state().celery_app


def choose_runner() -> str:
    """KURONEKO_JOBS_RUNNER, or celery once ``kuroneko.init_celery`` was called, else worker."""
    chosen = config.get("JOBS_RUNNER")
    if chosen is None:
        chosen = CELERY if celery_app() is not None else WORKER
    if chosen == CELERY and celery_app() is None:
        raise ConfigurationError(
            "KURONEKO_JOBS_RUNNER is \"celery\" but no Celery app is known: call "
            "kuroneko.init_celery(celery_app) in the app factory (see docs/jobs.md).")
    return chosen


def submit(job: Any, *, chunks: int | None = None) -> None:
    """Hand a committed job to its runner (nothing to do for the embedded worker)."""
    if job.runner != CELERY or job.state not in ("queued", "running"):
        return
    app = celery_app()
    if app is None:
        raise ConfigurationError("This job runs on Celery, but kuroneko.init_celery(celery_app) "
                                 "was not called in this process.")
    pending = store.unfinished(job.id)
    if chunks is None:
        chunks = min(config.get("JOBS_CELERY_CHUNKS"),
                     max(1, math.ceil(pending / config.get("JOBS_CHUNK_SIZE"))))
    for _ in range(chunks):
        app.send_task(RUN_CHUNK_TASK, args=(job.id,))
    store.set_dispatched(job.id)
    logger.info("kuroneko job %s handed to Celery in %d chunk task(s)", job.id, chunks)

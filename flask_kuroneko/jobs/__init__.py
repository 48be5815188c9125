"""Bulk work as jobs (DESIGN "jobs/"): 「B2出荷データ取込」, bulk 「発送済み」, and the record of
each 「B2出荷データ出力」.

A job is persisted (``kuroneko_jobs``) with one item per order (``kuroneko_job_items``:
outcome, Yamato's code and message). Items run with bounded concurrency through the payments
pipeline, claimed with one conditional UPDATE each, so an item is never applied twice — not
with several workers, not after a crash; a restarted runner takes over a dead runner's items
and settles their unknown outcomes with Yamato first. Runners: the embedded worker
(``flask kuroneko worker``, the default) or the shop's Celery (``kuroneko.init_celery``).

Modules: ``outcomes`` (vocabulary), ``store`` (tables, claims), ``capture`` (売上確定 of an
item), ``b2_import`` / ``bulk_ship`` (the kinds), ``b2_export`` (DB → B2 file), ``engine``
(thread pool), ``runner`` (embedded), ``celery_runner``, ``dispatch``, ``reports``.
"""
from __future__ import annotations

from typing import Any

from . import b2_import, bulk_ship, dispatch, store
from ..errors import JobNotFound
from .engine import RunReport, run_job
from .outcomes import FAILED, FILTERS, JobKind, JobState, Outcome
from .reports import progress, results_csv
from .store import get_job


def start_b2_import(source: Any, *, filename: str | None = None, actor: str | None = None) -> Any:
    """Create (and hand to its runner) the import job of a B2 issued-data file.
    ``b2.FileRefused`` (Japanese ``.message``) for an unusable file: nothing is created."""
    return b2_import.start(source, filename=filename, actor=actor)


def start_bulk_ship(order_ids: Any, *, actor: str | None = None) -> Any:
    """Create (and hand to its runner) a bulk 発送済み job for these host order ids."""
    return bulk_ship.start(order_ids, actor=actor)


def cancel(job_id: int, *, actor: str | None = None) -> int | None:
    """中止 (items not started yet); None when the job is neither waiting nor running."""
    return store.cancel(int(job_id), actor)


def retry_failed(job_id: int) -> int:
    """失敗分を再実行: queue the failed items again and hand the job to its runner."""
    count = store.retry_failed(int(job_id))
    job = store.get_job(int(job_id))
    if count and job is not None:
        dispatch.submit(job)
    return count


__all__ = ["FAILED", "FILTERS", "JobKind", "JobNotFound", "JobState", "Outcome", "RunReport",
           "cancel", "get_job", "progress", "results_csv", "retry_failed", "run_job",
           "start_b2_import", "start_bulk_ship"]

"""``flask kuroneko jobs list|show|run|retry|cancel``: bulk jobs from the command line.

Commands that run a job (``run``, ``retry``, and ``flask kuroneko b2 import``) run it here, in
the foreground, with KURONEKO_BULK_CONCURRENCY threads and a progress bar (a plain progress
line every 10 % when the output is not a terminal), then print the counts. Exit status: 0 when
no item failed, 1 when items ended in an error (Yamato refused, or the outcome could not be
confirmed: ``flask kuroneko jobs show ID --filter error``), 2 for a usage error (no such job,
a refused file), 130 when interrupted (the items in flight finish; ``jobs run ID`` continues).
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import click
from flask.cli import AppGroup

from . import jobs
from .jobs import store
from .jobs.outcomes import FILTERS, kind_label, outcome_label, state_label
from .jobs.reports import item_line, item_slips, jst

logger = logging.getLogger(__name__)

jobs_group = AppGroup("jobs", help="Bulk jobs (B2 import, bulk 発送済み): list, show, run, retry, cancel.")
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class Progress:
    """A progress bar on a terminal, a line per 10 % otherwise (logs, CI, cron mail)."""

    def __init__(self, job: Any):
        self.job_id, self.total = job.id, job.total or 0
        self.shown = 0
        self.step = -1
        self.bar = None
        if sys.stdout.isatty() and self.total:
            self.bar = click.progressbar(length=self.total, label=f"job {job.id}",
                                         show_pos=True, show_percent=True)
            self.bar.__enter__()

    def update(self) -> None:
        done = store.counts([self.job_id]).get(self.job_id, {}).get("done", 0)
        if self.bar is not None:
            self.bar.update(max(done - self.shown, 0))
        else:
            step = 100 if not self.total else done * 10 // self.total * 10
            if step > self.step:
                self.step = step
                click.echo(f"job {self.job_id}: {done}/{self.total} ({step}%)")
        self.shown = done

    def close(self) -> None:
        self.update()
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def summary_line(job: Any) -> str:
    info = jobs.progress(job)
    parts = [f"{outcome_label(k)} {v}" for k, v in info["outcomes"].items()]
    return (f"job {job.id} {kind_label(job.kind)} [{state_label(job.state)}] "
            f"{info['done']}/{info['total']}: " + (", ".join(parts) or "-"))


def run_in_foreground(job_id: int, *, concurrency: int | None = None) -> None:
    """Run the job here until nothing is left; exit non-zero when items failed."""
    job = store.get_job(job_id)
    progress = Progress(job)
    progress.update()
    try:
        jobs.run_job(job_id, concurrency=concurrency, until_finished=True,
                     on_progress=progress.update)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"interrupted: run `flask kuroneko jobs run {job_id}` to continue", err=True)
        sys.exit(EXIT_INTERRUPTED)
    progress.close()
    finish(job_id)


def finish(job_id: int) -> None:
    job = store.get_job(job_id)
    click.echo(summary_line(job))
    failed = jobs.progress(job)["failed"]
    if failed:
        click.echo(f"{failed} item(s) failed: flask kuroneko jobs show {job_id} --filter error",
                   err=True)
        sys.exit(EXIT_FAILED)


def existing_job(job_id: int) -> Any:
    job = store.get_job(job_id)
    if job is None:
        click.echo(f"no job {job_id}", err=True)
        sys.exit(EXIT_USAGE)
    return job


@jobs_group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def list_jobs(limit: int) -> None:
    """The latest jobs with their progress and counts."""
    _, rows = store.jobs_page(limit=limit)
    if not rows:
        click.echo("no jobs")
    for job in rows:
        click.echo(f"{summary_line(job)}  by {job.created_by or '-'} at {jst(job.created_at)}")


@jobs_group.command("show")
@click.argument("job_id", type=int)
@click.option("--filter", "group", type=click.Choice(sorted(FILTERS)), default=None,
              help="captured, skipped (with the reason) or error.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
def show(job_id: int, group: str | None, limit: int) -> None:
    """One job: counts and its items (row, key, 決済ID, 送り状番号, result, code, message)."""
    job = existing_job(job_id)
    click.echo(summary_line(job))
    for name, value in sorted((job.params or {}).items()):
        if name not in ("shared",) and value not in (None, "", []):
            click.echo(f"  {name}: {value}")
    total, rows = store.items(job.id, outcomes=FILTERS[group][1] if group else None, limit=limit)
    for item in rows:
        label = outcome_label(item.outcome) or item.state
        click.echo("\t".join([item_line(item) or str(item.seq), item.key or "-",
                              item.order_no or "-", item_slips(item) or "-", label,
                              item.code or "-", item.message or ""]))
    if total > len(rows):
        click.echo(f"... {total - len(rows)} more (--limit)")


@jobs_group.command("run")
@click.argument("job_id", type=int)
@click.option("--concurrency", type=click.IntRange(1, 64), default=None,
              help="Parallel Yamato calls (default KURONEKO_BULK_CONCURRENCY).")
def run(job_id: int, concurrency: int | None) -> None:
    """Run (or continue) a job here, with a progress bar."""
    existing_job(job_id)
    run_in_foreground(job_id, concurrency=concurrency)


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@click.option("--queue", is_flag=True, help="Leave the items to the job's runner (worker/Celery).")
def retry(job_id: int, queue: bool) -> None:
    """「失敗分を再実行」: run the failed items again."""
    existing_job(job_id)
    count = jobs.retry_failed(job_id)
    click.echo(f"job {job_id}: {count} failed item(s) queued again")
    if count and not queue:
        run_in_foreground(job_id)


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
def cancel(job_id: int) -> None:
    """「中止」: items not started yet are not run (those in flight finish)."""
    existing_job(job_id)
    count = jobs.cancel(job_id, actor="cli")
    if count is None:
        click.echo(f"job {job_id} is not waiting or running: nothing to cancel", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"job {job_id} cancelled: {count} item(s) not run")

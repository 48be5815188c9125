"""``flask kuroneko b2 export|import``: the B2クラウド round trip from the command line (M17).

``b2 export [--out FILE]`` writes the file of every 与信 order with Yamato delivery (or of a
受注日 range), prints the warnings and the orders left out to stderr and records the export.
Exit 0 when every order was written, 1 when some were left out (the file holds the others),
2 when nothing could be written or the B2 settings are incomplete.

``b2 import FILE`` checks the file, creates the import job and runs it here with a progress
bar (``--queue`` leaves it to the worker/Celery); exit status as ``flask kuroneko jobs run``
(2 for a refused file: nothing was changed).
"""
from __future__ import annotations

import logging
import sys
from datetime import date, datetime

import click
from flask.cli import AppGroup

from . import jobs
from .b2 import FileRefused, SettingsInvalid
from .jobs import b2_export
from .jobs_cli import EXIT_FAILED, EXIT_USAGE, run_in_foreground, summary_line

logger = logging.getLogger(__name__)

b2_group = AppGroup("b2", help="B2クラウド CSV: export 与信 orders, import issued slips.")


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


@b2_group.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: b2_YYYYMMDD_HHMMSS.csv in the current directory).")
@click.option("--since", default=None, help="受注日 from (YYYY-MM-DD).")
@click.option("--until", default=None, help="受注日 until (YYYY-MM-DD).")
def export(out: str | None, since: str | None, until: str | None) -> None:
    """「B2出荷データ出力」 of 与信 orders with Yamato delivery."""
    payments = b2_export.authorized_payments(since=parse_day(since), until=parse_day(until))
    try:
        outcome = b2_export.build(payments)
    except SettingsInvalid as exc:
        for problem in exc.problems:
            click.echo(f"B2 settings: {problem.field}: {problem.message}", err=True)
        sys.exit(EXIT_USAGE)
    for c in outcome.skipped:
        click.echo(f"skipped {c.payment.order_no}: {c.reason}", err=True)
    result = outcome.result
    if result is None or not result.row_count:
        for rejected in (result.rejected if result else ()):
            click.echo(f"rejected {rejected}", err=True)
        click.echo("nothing to export", err=True)
        sys.exit(EXIT_USAGE)
    filename = out or b2_export.filename_for()
    with open(filename, "wb") as handle:
        handle.write(result.data)
    job = b2_export.record(outcome, actor="cli", filename=filename)
    for c in outcome.rows:
        for note in c.notes:
            click.echo(f"note {c.payment.order_no}: {note}", err=True)
    for warning in result.warnings:
        click.echo(f"warning {warning}", err=True)
    for rejected in result.rejected:
        click.echo(f"rejected {rejected}", err=True)
    click.echo(f"{filename}: {result.row_count} order(s), {len(result.warnings)} warning(s), "
               f"{len(result.rejected)} rejected, {len(outcome.skipped)} skipped (job {job.id})")
    if result.rejected:
        sys.exit(EXIT_FAILED)


@b2_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--queue", is_flag=True, help="Leave the job to the worker/Celery.")
def import_file(file, queue: bool) -> None:
    """「B2出荷データ取込」: register each order's 送り状番号 and confirm the sale."""
    try:
        job = jobs.start_b2_import(file, filename=file.name, actor="cli")
    except FileRefused as refused:
        click.echo(f"file refused ({refused.code}): {refused.message}", err=True)
        sys.exit(EXIT_USAGE)
    previous = (job.params or {}).get("previous_job")
    if previous:
        click.echo(f"note: the same file was imported before (job {previous}); orders already "
                   "confirmed are reported as such, nothing is registered twice", err=True)
    click.echo(f"job {job.id}: {job.total} item(s) from {(job.params or {}).get('rows')} row(s)")
    if queue:
        click.echo(summary_line(job))
        return
    run_in_foreground(job.id)

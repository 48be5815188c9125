"""``flask kuroneko …`` commands: the schema (``init-db``, ``db upgrade|current|downgrade|
check|stamp``), one sweep, the sweep worker; the ``sync``, ``jobs`` and ``b2`` commands live in
``sync_cli.py``, ``jobs_cli.py`` and ``b2_cli.py``.

The sweep and the worker refuse to start on an out-of-date schema (they would fail on a
missing column half way through a sweep); the message names the command that fixes it.

The worker is safe to run on several machines at once: every unit of work of the sweep is
claimed in the database by the service (``claimed_by``/``claimed_until``), so two workers never
send the same Yamato request. Between two sweeps it runs bulk jobs (:func:`between_sweeps`).
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from typing import Callable, Iterator

import click
from flask.cli import AppGroup

from . import config
from . import payments
from .b2_cli import b2_group
from .errors import KuronekoError
from .jobs import runner as job_runner
from .jobs_cli import jobs_group
from .payments.journal import claimant
from .stats_cli import stats_command
from .sync_cli import sync_command

logger = logging.getLogger(__name__)

kuroneko_cli = AppGroup("kuroneko", help="クロネコ代金後払い (flask-kuroneko) maintenance commands.")
kuroneko_cli.add_command(sync_command)
kuroneko_cli.add_command(jobs_group)
kuroneko_cli.add_command(b2_group)
kuroneko_cli.add_command(stats_command)


def _state():
    from .state import current_state
    return current_state()


def _worker_id() -> str:
    """This process as a journal claim owner (host:pid:…), so a dead worker is recognised."""
    return claimant("worker")


@kuroneko_cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the kuroneko_* tables (only those) and the default payment methods."""
    from .rules import ensure_default_methods
    result = _upgrade("head")
    click.echo(f"kuroneko: tables ready at revision {result.after}")
    created = ensure_default_methods()
    for method in created:
        click.echo(f"kuroneko: payment method created: {method.name} "
                   f"({'使用' if method.active else '停止'})")


@kuroneko_cli.command("rotate-key")
def rotate_key() -> None:
    """Encrypt the stored merchant password with the current KURONEKO_SECRET_KEY (after a key
    change, with the old key in KURONEKO_SECRET_KEY_FALLBACKS; or a password stored before
    encryption existed)."""
    from .settings import reencrypt_password
    changed = reencrypt_password()
    click.echo("kuroneko: password re-encrypted with the current key" if changed else
               "kuroneko: nothing to re-encrypt")


db_cli = AppGroup("db", help="The kuroneko_* tables' own migrations (version table "
                             "kuroneko_alembic_version; the host's `flask db` is separate).")
kuroneko_cli.add_command(db_cli)


def _engine():
    return _state().db.engine


@contextlib.contextmanager
def _schema_errors(action: str) -> Iterator[None]:
    """Refusals are messages, not tracebacks: ours name the fix; Alembic's (an unknown
    revision, a downgrade past the base) say what could not be done."""
    try:
        yield
    except KuronekoError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        if type(exc).__module__.startswith("alembic"):
            raise click.ClickException(f"cannot {action}: {exc}") from None
        raise


def _upgrade(revision: str):
    from . import migrations
    with _schema_errors(f"upgrade to {revision}"):
        return migrations.upgrade(_engine(), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the kuroneko_* tables to REVISION (default: head, what this version needs).

    An empty database gets every table; a 0.1.0 install (tables without a version table) is
    recognised and stamped first."""
    result = _upgrade(revision)
    if result.adopted_0_1_0:
        click.echo("kuroneko: 0.1.0 tables recognised (no version table): stamped the baseline")
    if result.before == result.after:
        click.echo(f"kuroneko: schema already at {result.after}")
    else:
        click.echo(f"kuroneko: schema upgraded {result.before or '(none)'} -> {result.after}")


@db_cli.command("current")
def db_current() -> None:
    """Show the revision of the kuroneko_* tables and the one this version needs."""
    from . import migrations
    with _engine().connect() as conn:
        current = migrations.current_revision(conn)
    head = migrations.head_revision()
    if current == head:
        state = "up to date"
    elif current is None:
        state = "no version table: run `flask kuroneko db upgrade`"
    else:
        state = "out of date: run `flask kuroneko db upgrade`"
    click.echo(f"kuroneko schema: {current or '(none)'} (head {head}): {state}")


@db_cli.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask before dropping every kuroneko table "
                                         "(REVISION base).")
def db_downgrade(revision: str, yes: bool) -> None:
    """Step the kuroneko_* tables back to REVISION (e.g. 0001, -1; "base" drops them all).

    Run it with the flask-kuroneko version you are going back to still installed (the newer
    revisions' downgrade code is needed), then install the older version and restart."""
    from . import migrations
    if revision == "base" and not yes:
        click.confirm("This DROPS every kuroneko_* table with all payments, history and logs. "
                      "Continue?", abort=True)
    with _schema_errors(f"downgrade to {revision}"):
        before, after = migrations.downgrade(_engine(), revision)
    click.echo(f"kuroneko: schema downgraded {before} -> {after or 'base'}")


@db_cli.command("check")
def db_check() -> None:
    """Compare the models with the database (exit 1 on any difference): for developers
    writing a revision and for CI."""
    from . import migrations
    found = migrations.differences(_engine())
    for difference in found:
        click.echo(f"  {difference}")
    if found:
        raise click.ClickException(f"{len(found)} difference(s) between the models and the "
                                   "database: write a revision (docs/migrations.md) or upgrade.")
    click.echo("kuroneko: the database matches the models")


@db_cli.command("stamp")
@click.argument("revision")
def db_stamp(revision: str) -> None:
    """Record REVISION as the schema's revision WITHOUT changing any table (recovery only:
    docs/migrations.md)."""
    from . import migrations
    with _schema_errors(f"stamp {revision}"):
        migrations.stamp(_engine(), revision)
    click.echo(f"kuroneko: schema stamped {revision} (no table changed)")


def _require_current_schema() -> None:
    from . import migrations
    try:
        migrations.ensure_current(_engine())
    except migrations.SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from None


def _sweep_once(worker_id: str) -> object:
    return payments.sweep(worker_id=worker_id)


class _Crashed:
    """The report of a sweep that raised (``worker --once`` then exits non-zero)."""
    failed = True


_CRASHED = _Crashed()


def _exit_if_failed(report: object) -> None:
    """Exit non-zero when the sweep counted errors or found Yamato unreachable, so cron and
    monitoring notice (the sweep itself survives both and retries later)."""
    if getattr(report, "failed", False):
        click.echo("kuroneko sweep: errors or Yamato unreachable (see the log); exit status 1",
                   err=True)
        raise SystemExit(1)


@kuroneko_cli.command("sweep")
def sweep() -> None:
    """Run one sweep (unknown outcomes, SMS expiry, 審査中 polling, retries, status sync).

    Exits 1 when the sweep reported errors or Yamato was unreachable."""
    _require_current_schema()
    report = _sweep_once(_worker_id())
    click.echo(f"kuroneko sweep: {report}")
    _exit_if_failed(report)


@kuroneko_cli.command("worker")
@click.option("--interval", type=click.IntRange(min=1), default=None,
              help="Seconds between two sweeps (default KURONEKO_SWEEP_INTERVAL).")
@click.option("--once", is_flag=True, help="Run one sweep and exit.")
@click.option("--max-runs", type=click.IntRange(min=1), default=None, hidden=True,
              help="Stop after this many sweeps (tests, cron-like use).")
def worker(interval: int | None, once: bool, max_runs: int | None) -> None:
    """Sweep in a loop. Safe on several machines: the service claims each unit of work.

    SIGTERM/SIGINT stop the worker after the sweep in progress (no half-done sweep)."""
    interval = interval or config.get("SWEEP_INTERVAL")
    worker_id = _worker_id()
    stop = threading.Event()
    restore = _install_stop_handlers(stop)
    click.echo(f"kuroneko worker {worker_id}: every {interval}s" + (" (once)" if once else ""))
    runs = 0
    report: object = None
    try:
        while not stop.is_set():
            started = time.monotonic()
            _require_current_schema()      # cached once current: no query per loop
            try:
                report = _sweep_once(worker_id)
                click.echo(f"kuroneko sweep: {report}")
            except Exception:  # one failed sweep must not stop the worker; the next retries
                logger.exception("kuroneko worker %s: sweep failed", worker_id)
                click.echo("kuroneko sweep failed (see the log); retrying at the next interval",
                           err=True)
                _state().db.session.rollback()
                report = _CRASHED
            finally:
                _state().db.session.remove()
            runs += 1
            if once or (max_runs is not None and runs >= max_runs):
                break
            between_sweeps(worker_id, stop, max(0.0, interval - (time.monotonic() - started)))
    finally:
        restore()
    if stop.is_set():
        click.echo("kuroneko worker stopped")
    elif once:
        _exit_if_failed(report)


JOB_SLICE_FLOOR = 2.0


def between_sweeps(worker_id: str, stop: threading.Event, seconds: float) -> None:
    """The worker's hook point between two sweeps: bulk jobs run here (``jobs.runner.work``
    returns when ``seconds`` are over or ``stop`` is set, items in flight finished); without
    queued jobs it only waits. A failure is logged and the worker goes on.

    Jobs get at least JOB_SLICE_FLOOR seconds even when the sweep took the whole interval:
    on a shop whose sweep overruns its interval, bulk jobs would otherwise never run."""
    seconds = max(seconds, JOB_SLICE_FLOOR)
    deadline = time.monotonic() + seconds
    try:
        job_runner.work(worker_id, stop, seconds)
    except Exception:
        logger.exception("kuroneko worker %s: bulk jobs failed; retrying after the sweep", worker_id)
        _state().db.session.rollback()
    finally:
        _state().db.session.remove()
    stop.wait(max(0.0, deadline - time.monotonic()))


def _install_stop_handlers(stop: threading.Event) -> Callable[[], None]:
    """Let SIGTERM/SIGINT end the loop between sweeps; returns a function restoring the old
    handlers. Signal handlers can only be set from the main thread: elsewhere, do nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: object) -> None:
        logger.info("kuroneko worker: signal %s, stopping after the current sweep", signum)
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return restore

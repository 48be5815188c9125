"""``flask kuroneko …`` commands: create the tables, run one sweep, run the sweep worker.

The worker is safe to run on several machines at once: every unit of work of the sweep is
claimed in the database by the service (``claimed_by``/``claimed_until``), so two workers never
send the same Yamato request.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Callable

import click
from flask.cli import AppGroup

from . import config
from . import payments
from .payments.journal import claimant
from .sync_cli import sync_command

logger = logging.getLogger(__name__)

kuroneko_cli = AppGroup("kuroneko", help="クロネコ代金後払い (flask-kuroneko) maintenance commands.")
kuroneko_cli.add_command(sync_command)


def _state():
    from .state import current_state
    return current_state()


def _worker_id() -> str:
    """This process as a journal claim owner (host:pid:…), so a dead worker is recognised."""
    return claimant("worker")


@kuroneko_cli.command("init-db")
def init_db() -> None:
    """Create the kuroneko_* tables (only those) and the default payment methods."""
    from .rules import ensure_default_methods
    state = _state()
    tables = [model.__table__ for model in vars(state.models).values()]
    state.db.metadata.create_all(bind=state.db.engine, tables=tables)
    click.echo(f"kuroneko: tables ready ({', '.join(t.name for t in tables)})")
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
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        restore()
    if stop.is_set():
        click.echo("kuroneko worker stopped")
    elif once:
        _exit_if_failed(report)


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

"""``flask kuroneko …`` commands: create the tables, run one sweep, run the sweep worker.

The worker is safe to run on several machines at once: every unit of work of the sweep is
claimed in the database by the service (``claimed_by``/``claimed_until``), so two workers never
send the same Yamato request.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import threading
import time
from typing import Callable

import click
from flask import current_app
from flask.cli import AppGroup

from . import config

logger = logging.getLogger(__name__)

kuroneko_cli = AppGroup("kuroneko", help="クロネコ代金後払い (flask-kuroneko) maintenance commands.")


def _state():
    from .extension import current_state
    return current_state()


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _format_report(report: object) -> str:
    """The service's SweepReport renders itself; fall back to its fields."""
    if type(report).__str__ is object.__str__ and dataclasses.is_dataclass(report):
        return ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(report).items())
    return str(report)


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
    from . import service
    return service.sweep(worker_id=worker_id)


@kuroneko_cli.command("sweep")
def sweep() -> None:
    """Run one sweep (SMS expiry, 審査中 polling, unknown outcomes, retries, status sync)."""
    report = _sweep_once(_worker_id())
    click.echo(f"kuroneko sweep: {_format_report(report)}")


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
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                report = _sweep_once(worker_id)
                click.echo(f"kuroneko sweep: {_format_report(report)}")
            except Exception:  # one failed sweep must not stop the worker; the next retries
                logger.exception("kuroneko worker %s: sweep failed", worker_id)
                click.echo("kuroneko sweep failed (see the log); retrying at the next interval",
                           err=True)
                _state().db.session.rollback()
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

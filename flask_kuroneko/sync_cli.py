"""``flask kuroneko sync``: 取引状況確認 now — for the due payments, every held payment, or the
ones named. Exits 1 when a payment failed or Yamato was unreachable (cron, monitoring)."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import click

from . import config, payments
from .errors import KuronekoError
from .models import utcnow
from .payments import health, runs
from .payments.bulk_sync import sync_due


@click.command("sync")
@click.option("--all", "everything", is_flag=True,
              help="Ask about every held payment now, however recently it was synced.")
@click.option("--payment", "payment_ids", type=click.IntRange(min=1), multiple=True,
              metavar="ID", help="Only this payment (repeatable).")
def sync_command(everything: bool, payment_ids: tuple[int, ...]) -> None:
    """Compare payments with Yamato (取引状況確認) and follow Yamato's facts (M25)."""
    if payment_ids:
        failed = _sync_each(payment_ids)
    else:
        interval = timedelta(0) if everything else timedelta(seconds=config.get("SYNC_INTERVAL"))
        started = utcnow()
        with health.counting():
            report = sync_due(interval=interval, batch=config.get("SYNC_BATCH"),
                              concurrency=config.get("BULK_CONCURRENCY"))
        runs.record("sync", started_at=started, report=dataclasses.asdict(report),
                    errors=report.errors, unreachable=report.unreachable)
        click.echo(f"kuroneko sync: {report}")
        failed = report.failed
    if failed:
        click.echo("kuroneko sync: errors or Yamato unreachable (see the log); exit status 1",
                   err=True)
        raise SystemExit(1)


def _sync_each(payment_ids: tuple[int, ...]) -> bool:
    failed = False
    for payment_id in payment_ids:
        try:
            p = payments.sync_status(payment_id)
        except KuronekoError as exc:
            click.echo(f"payment {payment_id}: {exc.message or exc}", err=True)
            failed = True
            continue
        yamato = payments.yamato_label(p) or "不明"
        click.echo(f"payment {payment_id} ({p.order_no}): {p.status_label} / ヤマト {yamato}"
                   + (f" / 不一致: {p.drift}" if p.drift else ""))
    return failed

"""`flask kuroneko stats` (payments/stats.py, runs.py): counts by status, the oldest waiting
SMS / review / journal entry, the last sweep and sync (time, duration, errors), open 差異 and
与信 near the shipment limit, as JSON in Japan time; runs are recorded by every sweep and
`flask kuroneko sync`, old ones pruned."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from flask_kuroneko import OperationPending, payments
from flask_kuroneko.models import utcnow
from flask_kuroneko.payments import runs
from hosts import simple_shop
from hosts.simple_shop import CANCELLED, set_status
from service_support import place


def stats(app) -> dict:
    result = app.test_cli_runner().invoke(args=["kuroneko", "stats"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_stats_of_an_empty_shop(app, db, kuroneko):
    figures = stats(app)
    assert figures["payments_by_status"] == {s: 0 for s in (
        "pending", "awaiting_sms", "under_review", "authorized", "declined", "captured",
        "cancelled")}
    assert figures["last_sweep"] is None and figures["oldest_waiting_sms"] is None
    assert figures["open_drifts"] == 0 and figures["open_journal_entries"] == 0
    assert datetime.fromisoformat(figures["generated_at"]).utcoffset() == timedelta(hours=9)


def test_stats_count_what_waits_and_report_the_last_sweep(app, db, kuroneko, shop, simulator):
    place(kuroneko, shop["invoice"], phone="03-1234-9993")                 # 審査中
    _, sms = place(kuroneko, shop["smartphone"], form={"sms_phone": "090-1234-5678"})
    order, authorized = place(kuroneko, shop["invoice"])
    assert sms.kind == "redirect" and authorized.kind == "authorized"
    set_status(app, order, CANCELLED)                                     # an open 差異
    simulator.inject_fault("drop", operation="KAACL0010")
    with pytest.raises(OperationPending):                                 # answer lost: journaled
        payments.cancel(authorized.payment.id)
    figures = stats(app)
    assert figures["payments_by_status"]["under_review"] == 1
    assert figures["payments_by_status"]["awaiting_sms"] == 1
    assert figures["payments_by_status"]["authorized"] == 1
    for key in ("oldest_waiting_sms", "oldest_under_review", "oldest_open_journal_entry"):
        item = figures[key]
        assert item["age_seconds"] >= 0 and item["at"].endswith("+09:00"), key
    assert figures["open_journal_entries"] == 1 and figures["open_drifts"] == 1
    simulator.inject_fault("refuse", operation="KAARS0010")
    report = payments.sweep()
    figures = stats(app)
    sweep = figures["last_sweep"]
    assert sweep["started_at"].endswith("+09:00") and sweep["duration_ms"] >= 0
    assert sweep["unreachable"] == report.yamato_unreachable >= 1
    assert sweep["report"]["reviews_checked"] == 1
    assert figures["last_sync"] is None


def test_sync_command_records_its_run(app, db, kuroneko, shop):
    place(kuroneko, shop["invoice"])
    result = app.test_cli_runner().invoke(args=["kuroneko", "sync", "--all"])
    assert result.exit_code == 0, result.output
    run = stats(app)["last_sync"]
    assert run["report"]["asked"] == 1 and run["errors"] == 0


def test_old_runs_are_pruned(app, db, kuroneko):
    Run = kuroneko.models.Run
    old = utcnow() - timedelta(days=runs.KEEP_DAYS + 1)
    runs.record("sweep", started_at=old, report={}, errors=0, unreachable=0, now=old)
    payments.sweep()
    assert db.session.scalar(sa.select(sa.func.count(Run.id))) == 1
    assert stats(app)["last_sweep"]["started_at"][:4] == str(utcnow().year)


def test_a_run_that_cannot_be_recorded_does_not_break_the_sweep(app, db, kuroneko, caplog):
    kuroneko.models.Run.__table__.drop(bind=db.engine)
    simple_shop.db.session.remove()
    report = payments.sweep()
    assert not report.failed and "could not be recorded" in caplog.text

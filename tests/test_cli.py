"""`flask kuroneko init-db | sweep | worker` through Flask's CLI runner."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko import rules


def _tables(db) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_init_db_creates_only_kuroneko_tables_and_default_methods(app, db, kuroneko):
    from schema_support import drop_kuroneko_tables
    kuroneko_tables = [m.__table__ for m in vars(kuroneko.models).values()]
    drop_kuroneko_tables(db.engine)
    before = _tables(db)
    assert not any(t.startswith("kuroneko_") for t in before)
    result = app.test_cli_runner().invoke(args=["kuroneko", "init-db"])
    assert result.exit_code == 0, result.output
    assert "tables ready at revision" in result.output
    created = _tables(db) - before
    assert created == {t.name for t in kuroneko_tables} | {"kuroneko_alembic_version"}
    assert "payment method created" in result.output
    assert [(m.kind, m.active) for m in rules.list_methods()] == [("invoice", True), ("smartphone", False)]
    again = app.test_cli_runner().invoke(args=["kuroneko", "init-db"])   # idempotent
    assert again.exit_code == 0 and "payment method created" not in again.output
    assert len(rules.list_methods()) == 2


def test_commands_are_listed(app):
    result = app.test_cli_runner().invoke(args=["kuroneko", "--help"])
    assert result.exit_code == 0
    for name in ("init-db", "sweep", "worker"):
        assert name in result.output


def _payment_under_review(kuroneko):
    from hosts import simple_shop
    invoice, _ = rules.ensure_default_methods()
    billing = dict(simple_shop.DEFAULT_BILLING, phone="03-1234-9993")   # sandbox: 審査中 -> OK
    order = simple_shop.make_order(billing=billing)
    outcome = kuroneko.start_payment(order, invoice.id)
    assert outcome.kind == "under_review"
    return outcome.payment.id


def test_sweep_resolves_review_and_prints_report(app, db, kuroneko, simulator):
    payment_id = _payment_under_review(kuroneko)
    simulator.advance(601)                               # review_delay_seconds passed
    result = app.test_cli_runner().invoke(args=["kuroneko", "sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("kuroneko sweep:")
    assert "reviews_resolved=1" in result.output
    db.session.expire_all()
    assert db.session.get(kuroneko.models.Payment, payment_id).status == "authorized"


def test_worker_once(app, db, kuroneko, simulator):
    payment_id = _payment_under_review(kuroneko)
    simulator.advance(601)
    result = app.test_cli_runner().invoke(args=["kuroneko", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "(once)" in result.output and result.output.count("kuroneko sweep:") == 1
    db.session.expire_all()
    assert db.session.get(kuroneko.models.Payment, payment_id).status == "authorized"


def test_worker_survives_a_failing_sweep(app, db, kuroneko, caplog):
    kuroneko.models.Operation.__table__.drop(bind=db.engine)    # every sweep now fails
    db.session.remove()
    result = app.test_cli_runner().invoke(
        args=["kuroneko", "worker", "--interval", "1", "--max-runs", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("kuroneko sweep failed") == 2     # kept going after the first
    assert "sweep failed" in caplog.text


def test_worker_stops_after_the_current_sweep_on_sigterm(app, db, kuroneko):
    import os
    import signal
    import threading

    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        result = app.test_cli_runner().invoke(args=["kuroneko", "worker", "--interval", "30"])
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.output
    assert result.output.count("kuroneko sweep:") == 1        # stopped during the 30 s wait
    assert "kuroneko worker stopped" in result.output
    assert signal.getsignal(signal.SIGTERM) is before         # handlers restored


def test_sweep_exits_1_when_yamato_answers_http_500(app, db, kuroneko, simulator):
    """Monitoring must notice an outage the sweep survives: every status inquiry gets 500."""
    payment_id = _payment_under_review(kuroneko)
    simulator.advance(601)
    simulator.inject_fault("http500", times=None)
    result = app.test_cli_runner().invoke(args=["kuroneko", "sweep"])
    assert result.exit_code == 1, result.output
    assert "yamato_unreachable=1" in result.output
    assert "Yamato unreachable" in result.output
    db.session.expire_all()
    assert db.session.get(kuroneko.models.Payment, payment_id).status == "under_review"
    simulator.clear_faults()
    ok = app.test_cli_runner().invoke(args=["kuroneko", "sweep"])
    assert ok.exit_code == 0 and "yamato_unreachable=0" in ok.output


def test_worker_once_exits_1_after_a_failing_sweep(app, db, kuroneko):
    kuroneko.models.Operation.__table__.drop(bind=db.engine)    # the sweep now fails
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["kuroneko", "worker", "--once"])
    assert result.exit_code == 1, result.output
    assert "kuroneko sweep failed" in result.output


def test_worker_once_exits_1_when_yamato_is_unreachable(app, db, kuroneko, simulator):
    _payment_under_review(kuroneko)
    simulator.advance(601)
    simulator.inject_fault("refuse", times=None)
    result = app.test_cli_runner().invoke(args=["kuroneko", "worker", "--once"])
    assert result.exit_code == 1, result.output


def _authorized(kuroneko, phone="03-1234-5001"):
    from hosts import simple_shop
    invoice, _ = rules.ensure_default_methods()
    order = simple_shop.make_order(billing=dict(simple_shop.DEFAULT_BILLING, phone=phone))
    outcome = kuroneko.start_payment(order, invoice.id)
    assert outcome.kind == "authorized"
    return outcome.payment


def test_sync_command(app, db, kuroneko, simulator):
    p = _authorized(kuroneko)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kuroneko", "sync", "--all"])
    assert result.exit_code == 0, result.output
    assert "asked=1" in result.output and "unchanged=1" in result.output
    assert "asked=0" in runner.invoke(args=["kuroneko", "sync"]).output    # fresh: not due
    kuroneko.client().cancel(p.order_no)                        # behind the shop's back
    one = runner.invoke(args=["kuroneko", "sync", "--payment", str(p.id)])
    assert one.exit_code == 0, one.output
    assert f"payment {p.id} ({p.order_no}): 取消済み / ヤマト 取消済み / 不一致:" in one.output
    missing = runner.invoke(args=["kuroneko", "sync", "--payment", "999999"])
    assert missing.exit_code == 1 and "見つかりません" in missing.output


def test_sync_command_exits_1_when_yamato_is_down(app, db, kuroneko, simulator):
    _authorized(kuroneko)
    simulator.inject_fault("http500", times=None)
    result = app.test_cli_runner().invoke(args=["kuroneko", "sync", "--all"])
    assert result.exit_code == 1 and "unreachable=1" in result.output

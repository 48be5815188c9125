"""The timeout matrix ended by the real command: `flask kuroneko sweep` run in ANOTHER process.

The web process (this test) places orders, captures and cancels while the sandbox loses,
drops or refuses the calls; then `flask --app … kuroneko sweep` runs as a separate process with
its own app, session and Yamato client, sharing only the database and the sandbox state file
(KURONEKO_SANDBOX_STATE), as a cron job or `flask kuroneko worker` would in production. After
it every payment is consistent with Yamato, nothing is lost and nothing is done twice; a second
run finds nothing left to do. Runs on SQLite, PostgreSQL and MariaDB (database_url)."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from flask_kuroneko import journal, rules, service
from flask_kuroneko.errors import OperationPending
from flask_kuroneko.models import utcnow
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from schema_support import create_tables, drop_tables
from service_support import MERCHANT, SLIP1, YAMATO, models, place, rows

pytestmark = pytest.mark.slow
TESTS = Path(__file__).parent


@pytest.fixture
def web(database_url, tmp_path):
    """The shop's web process: the host app on the shared database and sandbox state file."""
    state_file = str(tmp_path / "sandbox-state.sqlite")
    app = simple_shop.create_app(database_url, KURONEKO_SANDBOX_STATE=state_file)
    with app.app_context():
        create_tables(simple_shop.db)
        yield app, state_file
        drop_tables(simple_shop.db)


def flask_cli(database_url: str, state_file: str, *args: str) -> subprocess.CompletedProcess:
    """`flask --app hosts.simple_shop:create_app(...) <args>` in a new Python process."""
    target = (f"hosts.simple_shop:create_app({database_url!r}, "
              f"KURONEKO_SANDBOX_STATE={state_file!r})")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "flask", "--app", target, *args],
                          cwd=TESTS.parent, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def time_passes(minutes: int = 5) -> None:
    """The journal's waits (grace before looking up a lost KAARA0010, retry backoff) are over:
    the command uses the real clock, so move the schedule instead of the clock."""
    Op = models().Operation
    simple_shop.db.session.execute(
        sa.update(Op).where(Op.state.in_(journal.OPEN_STATES))
        .values(next_attempt_at=utcnow() - timedelta(minutes=minutes)))
    simple_shop.db.session.commit()


def yamato_events(simulator, order_no: str) -> Counter:
    return Counter(e["event"] for e in simulator.transaction(MERCHANT, order_no)["history"])


def test_timeouts_on_authorize_capture_cancel_end_consistent_after_the_cli_sweep(web,
                                                                                database_url):
    app, state_file = web
    kuroneko = simple_shop.kuroneko
    simulator = kuroneko.simulator                      # backed by the shared state file
    method = simple_shop.DeliveryMethod(name="宅急便")
    simple_shop.db.session.add(method)
    simple_shop.db.session.commit()
    save_settings({"yamato_delivery_method_ids": [method.id]})
    invoice, _ = rules.ensure_default_methods()

    def order(fault=None, **options):
        if fault:
            simulator.inject_fault(fault, operation="KAARA0010", **options)
        placed, outcome = place(kuroneko, invoice.id, delivery_method_id=method.id)
        return placed, outcome

    # --- authorization: answer lost / never processed / connection refused -----------------
    auth = {}
    for name, fault, options, stored in (
            ("lost", "latency", {"seconds": 99}, True),
            ("unprocessed", "latency", {"seconds": 99, "after_processing": False}, False),
            ("refused", "refuse", {}, False)):
        _, outcome = order(fault, **options)
        assert outcome.kind == "pending" and outcome.payment.status == "pending"
        assert (simulator.transaction(MERCHANT, outcome.payment.order_no) is not None) == stored
        auth[name] = outcome.payment.id

    # --- capture: answer lost / refused -----------------------------------------------------
    capture = {}
    for name, fault, options in (("lost", "latency", {"seconds": 99}), ("refused", "refuse", {})):
        _, outcome = order()
        assert outcome.kind == "authorized"
        simulator.inject_fault(fault, operation="KAASL0010", **options)
        with pytest.raises(OperationPending):
            service.capture(outcome.payment.id, carrier=YAMATO, tracking_no=SLIP1)
        capture[name] = outcome.payment.id

    # --- cancel: answer lost / connection dropped / refused ---------------------------------
    cancel = {}
    for name, fault, options in (("lost", "latency", {"seconds": 99}), ("dropped", "drop", {}),
                                 ("refused", "refuse", {})):
        _, outcome = order()
        simulator.inject_fault(fault, operation="KAACL0010", **options)
        with pytest.raises(OperationPending):
            service.cancel(outcome.payment.id)
        cancel[name] = outcome.payment.id

    simple_shop.db.session.rollback()
    P = models().Payment
    before = {p.id: p.status for p in rows(P)}
    assert {before[i] for i in auth.values()} == {"pending"}
    assert {before[i] for i in capture.values()} == {"authorized"}
    assert {before[i] for i in cancel.values()} == {"authorized"}
    assert len([o for o in rows(models().Operation) if o.state in journal.OPEN_STATES]) == 8
    errors_before = len(rows(models().ErrorLog))
    simulator.clear_faults()
    time_passes()
    simple_shop.db.session.remove()        # the web process holds nothing while the CLI runs

    result = flask_cli(database_url, state_file, "kuroneko", "sweep")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("kuroneko sweep:"), result.stdout
    assert "operations_settled=8" in result.stdout and "errors=0" in result.stdout

    simple_shop.db.session.expire_all()
    payments = {p.id: p for p in rows(P)}
    for pid in auth.values():
        assert payments[pid].status == "authorized"
    for pid in capture.values():
        p = payments[pid]
        assert (p.status, p.tracking_no, p.process_div) == ("captured", SLIP1, 0)
        assert [s["paymentNo"] for s in simulator.transaction(MERCHANT, p.order_no)["slips"]] \
            == [SLIP1]
        assert simulator.transaction(MERCHANT, p.order_no)["status"] == 3
    for pid in cancel.values():
        p = payments[pid]
        assert p.status == "cancelled" and p.cancelled_at is not None
        assert simulator.transaction(MERCHANT, p.order_no)["status"] == 2
        assert yamato_events(simulator, p.order_no)["cancelled"] == 1
    # nothing lost, nothing done twice: one Yamato transaction per order, every journal entry
    # settled, one history row per completed operation, no new error
    assert len(simulator.transactions(MERCHANT)) == len(payments) == 8
    assert {p.open_operation for p in payments.values()} == {None}
    assert [o.state for o in rows(models().Operation)] == ["done"] * len(rows(models().Operation))
    done = Counter((h.payment_id, h.operation, h.result) for h in rows(models().PaymentHistory)
                   if h.result in ("OK", "ご利用可"))
    assert all(count == 1 for count in done.values()), done
    assert {pid for pid, op, _ in done if op == "売上確定"} == set(capture.values())
    assert {pid for pid, op, _ in done if op == "取消"} == set(cancel.values())
    assert len(rows(models().ErrorLog)) == errors_before
    snapshot = {t["orderNo"]: (t["status"], len(t["history"]))
                for t in simulator.transactions(MERCHANT)}
    statuses = {pid: p.status for pid, p in payments.items()}

    time_passes(60)
    simple_shop.db.session.remove()
    again = flask_cli(database_url, state_file, "kuroneko", "sweep")
    assert again.returncode == 0, again.stderr
    assert "operations_settled=0" in again.stdout and "errors=0" in again.stdout
    simple_shop.db.session.expire_all()
    assert {p.id: p.status for p in rows(P)} == statuses
    assert {t["orderNo"]: (t["status"], len(t["history"]))
            for t in simulator.transactions(MERCHANT)} == snapshot


def test_two_sweep_processes_at_once_settle_each_operation_once(web, database_url):
    """`flask kuroneko sweep` on two machines at the same moment: every journaled operation is
    claimed by one of them; each cancel is resent once, never twice."""
    app, state_file = web
    kuroneko = simple_shop.kuroneko
    simulator = kuroneko.simulator
    invoice, _ = rules.ensure_default_methods()
    pids = []
    for _ in range(6):
        _, outcome = place(kuroneko, invoice.id)
        simulator.inject_fault("refuse", operation="KAACL0010")     # never reached Yamato
        with pytest.raises(OperationPending):
            service.cancel(outcome.payment.id)
        pids.append(outcome.payment.id)
    simple_shop.db.session.rollback()
    errors_before = len(rows(models().ErrorLog))
    time_passes()
    simple_shop.db.session.remove()

    target = (f"hosts.simple_shop:create_app({database_url!r}, "
              f"KURONEKO_SANDBOX_STATE={state_file!r})")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH")])))
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", target, "kuroneko",
                                 "sweep"], cwd=TESTS.parent, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    settled = [int(out.split("operations_settled=")[1].split(",")[0]) for out, _ in outputs]
    assert sum(settled) == 6, outputs

    simple_shop.db.session.expire_all()
    for pid in pids:
        p = service.get_payment(pid)
        assert p.status == "cancelled"
        assert yamato_events(simulator, p.order_no)["cancelled"] == 1
    assert [o.state for o in rows(models().Operation) if o.operation == "cancel"] == ["done"] * 6
    assert len(rows(models().ErrorLog)) == errors_before          # no refused second cancel

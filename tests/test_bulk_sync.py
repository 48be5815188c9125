"""取引状況確認 at scale (payments/bulk_sync.py): every due held payment, oldest first, the
inquiries concurrent, the agreeing ones stamped in bulk, the others through the locked step,
a resolved drift cleared, Yamato's final states not asked again, Yamato down → stop early."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from flask_kuroneko import payments
from flask_kuroneko.models import utcnow
from flask_kuroneko.payments.bulk_sync import sync_due
from flask_kuroneko.yamato.codes import ProcessDiv
from flask_kuroneko.yamato.datatypes import ShipmentRequest
from hosts import simple_shop
from service_support import MERCHANT, SLIP1, place

HOUR = timedelta(hours=1)


_buyers = iter(range(1000, 9000))


def authorized(kuroneko, shop):
    """Each payment a different buyer (the sandbox applies Yamato's per-buyer credit limit)."""
    _, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"],
                       phone=f"03-1234-{next(_buyers):04d}")
    assert outcome.kind == "authorized"
    return outcome.payment.id


def later(hours: float = 2):
    return utcnow() + timedelta(hours=hours)


def test_agreeing_payments_are_stamped_with_few_statements(kuroneko, shop, calls):
    pids = [authorized(kuroneko, shop) for _ in range(20)]
    statements = []

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split()[0])
    sa.event.listen(simple_shop.db.engine, "before_cursor_execute", count)
    try:
        report = sync_due(now=later(), interval=HOUR, batch=50, concurrency=4)
    finally:
        sa.event.remove(simple_shop.db.engine, "before_cursor_execute", count)
    assert (report.asked, report.unchanged, report.changed) == (20, 20, 0)
    assert calls["KAAST0010"] == 20
    assert len(statements) <= 2 * 20 / 5, statements      # one SELECT, a few grouped UPDATEs
    assert all(payments.get_payment(p).synced_at is not None for p in pids)


def test_inquiries_run_concurrently(kuroneko, shop, simulator):
    for _ in range(8):
        authorized(kuroneko, shop)
    inflight, peak, lock = [0], [0], threading.Lock()
    original = simulator.exchange

    def slow(code, raw_body, **kw):
        if code == "KAAST0010":
            with lock:
                inflight[0] += 1
                peak[0] = max(peak[0], inflight[0])
            time.sleep(0.05)
            with lock:
                inflight[0] -= 1
        return original(code, raw_body, **kw)
    simulator.exchange = slow
    try:
        report = sync_due(now=later(), interval=HOUR, batch=50, concurrency=4)
    finally:
        del simulator.exchange
    assert report.asked == 8 and 2 <= peak[0] <= 4


def test_disagreement_goes_through_the_locked_step_and_a_resolved_drift_clears(
        kuroneko, shop, simulator, api_client):
    fine, shipped_there = authorized(kuroneko, shop), authorized(kuroneko, shop)
    api_client.register_shipment(ShipmentRequest(
        order_no=payments.get_payment(shipped_there).order_no, process_div=ProcessDiv.NEW,
        slip_no=SLIP1))
    report = sync_due(now=later(), interval=HOUR, batch=50, concurrency=2)
    assert (report.unchanged, report.changed, report.drifts) == (1, 1, 1)
    p = payments.get_payment(shipped_there)
    assert p.status == "captured" and p.drift and p.drift_kind == "yamato_captured"
    # Yamato and our payment agree now, but the host's order is not shipped: still a drift
    report = sync_due(now=later(4), interval=HOUR, batch=50, concurrency=2)
    assert payments.get_payment(shipped_there).drift_kind == "yamato_captured"
    assert report.drifts == 0                                # not reported twice
    order = simple_shop.db.session.get(simple_shop.ShopOrder, int(p.host_order_id))
    order.status = simple_shop.SHIPPED                       # the host records the shipment
    simple_shop.db.session.commit()
    report = sync_due(now=later(6), interval=HOUR, batch=50, concurrency=2)
    p = payments.get_payment(shipped_there)
    assert p.drift is None and p.drift_kind is None and report.changed == 1
    assert payments.get_payment(fine).drift is None


def test_final_states_at_yamato_are_not_asked_again(kuroneko, shop, simulator, calls):
    pid = authorized(kuroneko, shop)
    payments.capture(pid, carrier="クロネコヤマト", tracking_no=SLIP1)
    order_no = payments.get_payment(pid).order_no
    for step in ("deliver", "invoice", "pay"):
        getattr(simulator, step)(MERCHANT, order_no)
    sync_due(now=later(), interval=HOUR, batch=50, concurrency=2)
    assert payments.get_payment(pid).yamato_status == 12
    calls.reset()
    assert sync_due(now=later(5), interval=HOUR, batch=50, concurrency=2).asked == 0
    assert calls["KAAST0010"] == 0


def test_yamato_down_stops_the_run_and_keeps_the_old_stamps(kuroneko, shop, simulator, calls):
    pids = [authorized(kuroneko, shop) for _ in range(6)]
    simulator.inject_fault("refuse", operation="KAAST0010", times=None)
    calls.reset()
    report = sync_due(now=later(), interval=HOUR, batch=3, concurrency=2)
    assert report.unreachable == 3 and report.asked == 3 and report.failed   # one batch only
    assert all(payments.get_payment(p).synced_at is None for p in pids)

"""Several threads (each with its own app context, session and connection) on one payment:
exactly one Yamato call, the others see the new status. Run on PostgreSQL and MariaDB with
KURONEKO_TEST_DATABASE_URL (FOR UPDATE) and on SQLite (per-payment process lock)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from flask_kuroneko import payments as kpay
from flask_kuroneko.errors import InvalidTransition, OperationPending
from flask_kuroneko.models import utcnow
from hosts import simple_shop
from service_support import SLIP1, YAMATO, models, place, rows, tx

pytestmark = pytest.mark.slow
THREADS = 4


def race(app, work, n=THREADS, *, end_transaction=True):
    """Run ``work()`` in ``n`` threads started together; returns results/exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work()
            except Exception as exc:      # collected and asserted by the test
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    if end_transaction:
        simple_shop.db.session.rollback()   # the test's own transaction: see what the threads did
    return results


def authorized_payment(kuroneko, shop):
    _, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    assert outcome.kind == "authorized"
    return outcome.payment.id


def split(results):
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, InvalidTransition)]
    others = [r for r in results if isinstance(r, Exception) and not isinstance(r, InvalidTransition)]
    return ok, refused, others


def test_concurrent_cancel_calls_yamato_once(app, kuroneko, shop, simulator, calls):
    pid = authorized_payment(kuroneko, shop)
    simulator.inject_fault("latency", operation="KAACL0010", seconds=0.2, times=None)
    ok, refused, others = split(race(app, lambda: kpay.cancel(pid)))
    assert others == [] and len(ok) == 1 and len(refused) == THREADS - 1
    assert calls["KAACL0010"] == 1
    assert kpay.get_payment(pid).status == "cancelled"
    assert [h.operation for h in rows(models().PaymentHistory, payment_id=pid)].count("取消") == 1


def test_concurrent_capture_calls_yamato_once(app, kuroneko, shop, simulator, calls):
    pid = authorized_payment(kuroneko, shop)
    simulator.inject_fault("latency", operation="KAASL0010", seconds=0.2, times=None)
    ok, refused, others = split(race(
        app, lambda: kpay.capture(pid, carrier=YAMATO, tracking_no=SLIP1)))
    assert others == [] and len(ok) == 1 and len(refused) == THREADS - 1
    assert calls["KAASL0010"] == 1
    p = kpay.get_payment(pid)
    assert p.status == "captured" and len(tx(simulator, p.order_no)["slips"]) == 1


def test_cancel_and_capture_race(app, kuroneko, shop, simulator, calls):
    """Whichever wins, the other is refused before calling Yamato: never both."""
    pid = authorized_payment(kuroneko, shop)
    simulator.inject_fault("latency", operation="KAACL0010", seconds=0.2, times=None)
    simulator.inject_fault("latency", operation="KAASL0010", seconds=0.2, times=None)
    turn = iter(range(100))
    lock = threading.Lock()

    def work():
        with lock:
            mine = next(turn)
        if mine % 2:
            return kpay.cancel(pid)
        return kpay.capture(pid, carrier=YAMATO, tracking_no=SLIP1)

    ok, refused, others = split(race(app, work))
    assert others == []
    status = kpay.get_payment(pid).status
    if status == "cancelled":
        # a capture that won first may be followed by the cancel (legal from 売上確定)
        assert calls["KAACL0010"] == 1 and calls["KAASL0010"] <= 1
    else:
        assert status == "captured" and calls["KAACL0010"] == 0 and calls["KAASL0010"] == 1


def test_parallel_sweeps_settle_each_operation_once(app, kuroneko, shop, simulator, calls):
    """Several workers: claims make each journaled operation settled by exactly one."""
    pids = [authorized_payment(kuroneko, shop) for _ in range(3)]
    simulator.inject_fault("latency", operation="KAACL0010", seconds=99, times=3)
    for pid in pids:
        with pytest.raises(OperationPending):
            kpay.cancel(pid)
    calls.reset()
    later = utcnow() + timedelta(minutes=1)
    results = race(app, lambda: kpay.sweep(now=later, worker_id=None))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.operations_settled for r in results) == 3
    assert calls["KAAST0010"] == 3 and calls["KAACL0010"] == 0
    assert {kpay.get_payment(pid).status for pid in pids} == {"cancelled"}
    assert [o.state for o in rows(models().Operation) if o.operation == "cancel"] == ["done"] * 3


def test_old_snapshot_still_sees_the_unsettled_operation(app, kuroneko, shop, simulator, calls):
    """The caller's transaction read before another worker journaled an operation (an old
    REPEATABLE READ snapshot on MariaDB): the busy mark is on the locked row, so it is seen."""
    pid = authorized_payment(kuroneko, shop)
    assert rows(models().Operation, payment_id=pid)[0].state == "done"    # snapshot taken
    simulator.inject_fault("latency", operation="KAACL0010", seconds=99)
    [result] = race(app, lambda: kpay.cancel(pid), n=1, end_transaction=False)
    assert isinstance(result, OperationPending)
    with pytest.raises(InvalidTransition, match="確認中"):
        kpay.cancel(pid)
    assert calls["KAACL0010"] == 1


def test_concurrent_amount_increase_reauthorizes_once(app, kuroneko, shop, simulator, calls):
    """Two admins (or an admin and the order_updated reaction) raise the amount at once and
    Yamato refuses increases: one KAAKK0010, one re-authorization, one new payment — never two
    live authorizations for one order."""
    from flask_kuroneko.models import PaymentStatus as S
    simulator.configure_merchant("12345678901", amount_increase="deny")
    pid = authorized_payment(kuroneko, shop)
    order = simple_shop.db.session.get(simple_shop.ShopOrder,
                                       int(kpay.get_payment(pid).host_order_id))
    order.lines = [["テスト商品", 3, 1500, "physical"]]
    simple_shop.db.session.commit()
    calls.reset()
    simulator.inject_fault("latency", operation="KAAKK0010", seconds=0.2, times=None)
    simulator.inject_fault("latency", operation="KAARA0010", seconds=0.2, times=None)
    ok, refused, others = split(race(app, lambda: kpay.change_amount(pid)))
    assert others == [] and len(ok) == 1 and len(refused) == THREADS - 1
    assert calls["KAAKK0010"] == 1 and calls["KAARA0010"] == 1
    payments = rows(models().Payment, host_order_id=str(order.id))
    live = [p for p in payments if p.status in (S.AUTHORIZED.value, S.CAPTURED.value)]
    assert [p.amount for p in live] == [4500] and live[0].replaces_id == pid
    assert kpay.get_payment(pid).status == "cancelled"


def test_double_click_on_one_order_authorizes_once(app, kuroneko, shop, simulator, calls):
    """start_payment of one (committed) host order from several requests at once — a double
    click on a host's 「支払う」 button: one KAARA0010, the other clicks see that payment."""
    order = simple_shop.make_order()
    simple_shop.db.session.commit()
    order_id = order.id
    simulator.inject_fault("latency", operation="KAARA0010", seconds=0.2, times=None)

    def click():
        again = simple_shop.db.session.get(simple_shop.ShopOrder, order_id)
        return kuroneko.start_payment(again, shop["invoice"])

    results = race(app, click)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert calls["KAARA0010"] == 1
    [payment] = rows(models().Payment, host_order_id=str(order_id))
    assert {r.payment.id for r in results} == {payment.id}
    assert len(simulator.transactions("12345678901")) == 1

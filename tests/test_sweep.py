"""``sweep()``: 審査中 polling, status sync (throttled) with drift, claims between workers,
recovery of an authorization whose request died mid-call."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from flask_kuroneko import payments
from flask_kuroneko.payments import journal
from flask_kuroneko.models import utcnow
from flask_kuroneko.payments.recovery import settle_operation
from flask_kuroneko.payments.sweep import SweepReport
from hosts import simple_shop
from service_support import MERCHANT, SLIP1, YAMATO, models, place, rows


def authorized(kuroneko, shop, **fields):
    _, outcome = place(kuroneko, shop["invoice"], **fields)
    assert outcome.kind == "authorized"
    return outcome.payment.id


def test_empty_sweep(kuroneko, shop, calls):
    report = payments.sweep()
    assert report == SweepReport() and sum(calls.counts.values()) == 0
    assert "sms_expired=0" in str(report) and report.as_dict()["synced"] == 0


@pytest.mark.parametrize("phone, final", [("03-1234-9993", "authorized"),
                                          ("03-1234-9994", "declined"),
                                          ("03-1234-9995", "declined")])
def test_reviews_are_polled(kuroneko, shop, simulator, phone, final):
    _, outcome = place(kuroneko, shop["invoice"], phone=phone)
    pid = outcome.payment.id
    report = payments.sweep()
    assert (report.reviews_checked, report.reviews_resolved) == (1, 0)
    simulator.advance(700)
    report = payments.sweep()
    assert (report.reviews_checked, report.reviews_resolved) == (1, 1)
    assert payments.get_payment(pid).status == final


def test_status_sync_asks_every_due_payment_in_batches(kuroneko, shop, calls):
    pids = [authorized(kuroneko, shop) for _ in range(3)]
    calls.reset()
    report = payments.sweep(sync_batch=2)                          # two batches, one sweep
    assert report.synced == 3 and calls["KAAST0010"] == 3
    assert payments.sweep().synced == 0                            # all fresh: nothing asked
    assert payments.sweep(now=utcnow() + timedelta(hours=2)).synced == 3
    assert all(payments.get_payment(p).yamato_status == 1 for p in pids)


def test_sweep_finds_drift_and_late_ng(kuroneko, shop, simulator, api_client):
    cancelled_there = authorized(kuroneko, shop)
    late_ng = authorized(kuroneko, shop, phone="03-1234-9989")
    shipped_there = authorized(kuroneko, shop)
    fine = authorized(kuroneko, shop)
    api_client.cancel(payments.get_payment(cancelled_there).order_no)
    from flask_kuroneko.yamato.codes import ProcessDiv
    from flask_kuroneko.yamato.datatypes import ShipmentRequest
    api_client.register_shipment(ShipmentRequest(
        order_no=payments.get_payment(shipped_there).order_no, process_div=ProcessDiv.NEW,
        slip_no=SLIP1))
    simulator.advance(700)
    report = payments.sweep()
    assert report.synced == 4 and report.drifts == 3
    assert payments.get_payment(cancelled_there).status == "cancelled"
    assert payments.get_payment(late_ng).status == "declined"
    assert payments.get_payment(shipped_there).status == "captured"
    assert payments.get_payment(fine).drift is None
    assert len([e for e in rows(models().ErrorLog) if e.code == "drift"]) == 2
    [ng] = [e for e in rows(models().ErrorLog) if e.code == "late_ng"]     # not "admin screen"
    assert "審査で「決済不可」" in ng.message and "発送しないで" in ng.message
    assert payments.sweep(now=utcnow() + timedelta(hours=7)).drifts == 0     # not reported twice


def _crashed_authorization(kuroneko, shop, api_client, *, reached: bool):
    """The state a request leaves when its process dies during KAARA0010: order, pending
    payment and the claimed journal row committed; Yamato may or may not have the request."""
    from flask_kuroneko.payments import yamato_requests as yreq
    order = simple_shop.make_order()
    data = simple_shop.describe(order)
    m = models()
    p = m.Payment(order_no="5550001111", host_order_id=str(order.id), kind="invoice",
                  status="pending", amount=data.total, initial_amount=data.total,
                  order_date=date.today(), ship_date=date.today() + timedelta(days=3))
    simple_shop.db.session.add(p)
    simple_shop.db.session.flush()
    req = yreq.authorization_request(data, order_no=p.order_no, order_date=p.order_date,
                                     ship_date=p.ship_date)
    journal.add(simple_shop.db.session, m, p, "authorize", journal.UNKNOWN,
                {"request": yreq.request_to_json(req)}, claimed_by="request-dead",
                claim_seconds=80)
    simple_shop.db.session.commit()
    if reached:
        api_client.authorize(req)
    return p.id


@pytest.mark.parametrize("reached", [True, False])
def test_crashed_request_is_recovered_once_its_claim_expires(kuroneko, shop, api_client,
                                                            simulator, calls, reached):
    pid = _crashed_authorization(kuroneko, shop, api_client, reached=reached)
    calls.reset()
    assert payments.sweep().operations_settled == 0          # still claimed by the request
    assert sum(calls.counts.values()) == 0
    report = payments.sweep(now=utcnow() + timedelta(minutes=2))
    assert report.operations_settled == 1
    assert payments.get_payment(pid).status == "authorized"
    assert calls["KAARA0010"] == (0 if reached else 1)
    assert len(simulator.transactions(MERCHANT)) == 1


def test_claims_exclude_other_workers(kuroneko, shop, simulator):
    pid = authorized(kuroneko, shop)
    simulator.inject_fault("latency", operation="KAACL0010", seconds=99)
    with pytest.raises(Exception):
        payments.cancel(pid)
    [op] = [o for o in rows(models().Operation) if o.operation == "cancel"]
    session, m = simple_shop.db.session, models()
    now = utcnow()
    assert journal.claim(session, m, op.id, "worker-a", seconds=300, now=now)
    assert not journal.claim(session, m, op.id, "worker-b", seconds=300, now=now)
    assert settle_operation(op.id, worker_id="worker-b", now=now) == "skipped"
    assert payments.get_payment(pid).status == "authorized"
    # worker-a died: its claim runs out and worker-b takes over
    later = now + timedelta(seconds=301)
    assert settle_operation(op.id, worker_id="worker-b", now=later) == "done"
    assert payments.get_payment(pid).status == "cancelled"
    assert payments.get_payment(pid).open_operation is None


def test_operations_for_hides_everything_while_unsettled(kuroneko, shop, simulator):
    pid = authorized(kuroneko, shop)
    assert "cancel" in payments.operations_for(payments.get_payment(pid))
    simulator.inject_fault("latency", operation="KAASL0010", seconds=99)
    with pytest.raises(Exception):
        payments.capture(pid, carrier=YAMATO, tracking_no=SLIP1)
    assert payments.operations_for(payments.get_payment(pid)) == ["sync_status"]


def test_a_dead_workers_claim_is_taken_at_once(kuroneko, shop, simulator):
    """A sweep worker killed while it held a journal row (its claim runs for minutes): the
    next sweep sees that the process named in the claim is gone and settles the row now."""
    import subprocess
    import sys
    pid = authorized(kuroneko, shop)
    simulator.inject_fault("latency", operation="KAACL0010", seconds=99)
    with pytest.raises(Exception):
        payments.cancel(pid)
    [op] = [o for o in rows(models().Operation) if o.operation == "cancel"]
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_owner = f"{journal.claimant('sweep').split(':')[0]}:{int(gone.stdout)}:sweep-dead"
    alive_owner = journal.claimant("sweep")                   # this very process
    session, m = simple_shop.db.session, models()
    assert journal.claim(session, m, op.id, dead_owner, seconds=300)
    assert journal.process_gone(dead_owner) and not journal.process_gone(alive_owner)
    report = payments.sweep()                                 # no waiting for the 300 s
    assert report.operations_settled == 1
    assert payments.get_payment(pid).status == "cancelled"
    # the claim of a live process is respected until it runs out
    pid2 = authorized(kuroneko, shop, billing=dict(simple_shop.DEFAULT_BILLING,
                                                   phone="03-1234-5002"))
    simulator.inject_fault("latency", operation="KAACL0010", seconds=99)
    with pytest.raises(Exception):
        payments.cancel(pid2)
    [op2] = [o for o in rows(models().Operation) if o.operation == "cancel" and o.payment_id == pid2]
    assert journal.claim(session, m, op2.id, alive_owner, seconds=300)
    assert payments.sweep().operations_settled == 0
    assert payments.get_payment(pid2).status == "authorized"

"""The timeout matrix: Yamato unreachable or its answer lost, on authorization, capture,
cancel (and the other operations) → the payment stays consistent, the operation is journaled,
``sweep()`` settles it from Yamato's own answer; nothing lost, nothing done twice."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flask_kuroneko import payments
from flask_kuroneko.errors import InvalidTransition, OperationPending
from flask_kuroneko.models import utcnow
from hosts import simple_shop
from service_support import MERCHANT, SLIP1, SLIP2, YAMATO, models, names, place, rows, tx
from test_service import authorized

LATER = timedelta(minutes=2)      # past the grace before an unanswered KAARA0010 is looked up


def sweep_later(minutes: float = 2):
    return payments.sweep(now=utcnow() + timedelta(minutes=minutes))


def ops():
    return [(o.operation, o.state) for o in rows(models().Operation)]


# --------------------------------------------------------------------------- authorization

# (fault kind, fault options, journal state, did Yamato store it?)
AUTH_FAULTS = [
    ("latency", {"seconds": 99}, "unknown", True),                         # answer lost
    ("latency", {"seconds": 99, "after_processing": False}, "unknown", False),  # never processed
    ("drop", {}, "unknown", True),
    ("malformed", {}, "unknown", True),
    ("refuse", {}, "queued", False),                                       # never reached
]


@pytest.mark.parametrize("kind, options, state, stored", AUTH_FAULTS)
def test_authorization_fault_then_sweep(kuroneko, shop, simulator, calls, received, kind,
                                        options, state, stored):
    simulator.inject_fault(kind, operation="KAARA0010", **options)
    order, outcome = place(kuroneko, shop["invoice"])
    p = outcome.payment
    assert outcome.kind == "pending" and "決済処理中" in outcome.message
    assert p.status == "pending" and p.status_label == "決済処理中"
    assert ops() == [("authorize", state)]
    assert (tx(simulator, p.order_no) is not None) == stored
    assert names(received) == ["payment-error"]
    simple_shop.db.session.rollback()          # the order itself is committed
    assert simple_shop.db.session.get(simple_shop.ShopOrder, order.id) is not None
    assert payments.sweep().operations_settled == 0       # unknown: grace; queued: backoff
    report = sweep_later()
    p = payments.get_payment(p.id)
    assert p.status == "authorized" and report.operations_settled == 1
    assert ops() == [("authorize", "done")]
    assert tx(simulator, p.order_no)["status"] == 1
    assert len(simulator.transactions(MERCHANT)) == 1
    assert calls["KAARA0010"] == (1 if stored else 2)
    assert names(received)[-1] == "payment-authorized"
    assert sweep_later(10).operations_settled == 0          # nothing left, nothing redone
    assert calls["KAARA0010"] == (1 if stored else 2)


def test_authorization_resend_meets_its_late_first_request(kuroneko, shop, simulator, calls,
                                                           api_client):
    """Yamato said 'not found', the resend finds the late first request (kaara009E): the
    outcome is then read, never a second transaction."""
    simulator.inject_fault("refuse", operation="KAARA0010")
    _, outcome = place(kuroneko, shop["invoice"])
    p = outcome.payment
    [op] = rows(models().Operation)
    from flask_kuroneko.payments.yamato_requests import request_from_json
    api_client.authorize(request_from_json(op.params["request"]))      # the "late" request
    simulator.inject_fault("error", operation="KAARS0010", error_code="err0001")
    report = sweep_later()
    assert payments.get_payment(p.id).status == "pending" and report.operations_retrying == 1
    report = sweep_later(30)
    assert payments.get_payment(p.id).status == "authorized"
    assert len(simulator.transactions(MERCHANT)) == 1


def test_authorization_under_review_after_timeout(kuroneko, shop, simulator, received):
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99)
    _, outcome = place(kuroneko, shop["invoice"], phone="03-1234-9993")
    sweep_later()
    assert payments.get_payment(outcome.payment.id).status == "under_review"
    simulator.advance(700)
    assert sweep_later(3).reviews_resolved == 1
    assert payments.get_payment(outcome.payment.id).status == "authorized"


def test_sms_authorization_never_arrived_is_declined(kuroneko, shop, simulator, calls):
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99, after_processing=False)
    _, outcome = place(kuroneko, shop["smartphone"], form={"sms_phone": "09012345678"})
    assert outcome.kind == "pending"
    sweep_later()
    assert payments.get_payment(outcome.payment.id).status == "declined"
    assert calls["KAARA0010"] == 1 and simulator.sms_outbox == []


def test_pending_authorization_resolved_on_demand(kuroneko, shop, simulator):
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99)
    _, outcome = place(kuroneko, shop["invoice"])
    assert payments.resolve(outcome.payment.id).status == "authorized"


# --------------------------------------------------------------------------- capture / cancel


@pytest.mark.parametrize("kind, options, state, sent", [
    ("latency", {"seconds": 99}, "unknown", 1),
    ("latency", {"seconds": 99, "after_processing": False}, "unknown", 2),
    ("refuse", {}, "queued", 2),
])
def test_capture_fault_then_sweep(kuroneko, shop, simulator, calls, received, kind, options,
                                  state, sent):
    _, p = authorized(kuroneko, shop)
    simulator.inject_fault(kind, operation="KAASL0010", **options)
    with pytest.raises(OperationPending) as info:
        payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    assert info.value.state == state
    assert payments.get_payment(p.id).status == "authorized"
    assert ops()[-1] == ("capture", state)
    with pytest.raises(InvalidTransition, match="確認中"):
        payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    with pytest.raises(InvalidTransition, match="確認中"):
        payments.cancel(p.id)
    payments.sweep()
    p = payments.get_payment(p.id)
    assert (p.status, p.tracking_no) == ("captured", SLIP1)
    assert [s["paymentNo"] for s in tx(simulator, p.order_no)["slips"]] == [SLIP1]
    assert calls["KAASL0010"] == sent and ops()[-1] == ("capture", "done")
    assert names(received)[-1] == "sales-confirmed"
    payments.sweep()
    assert calls["KAASL0010"] == sent


@pytest.mark.parametrize("kind, options, state, sent", [
    ("latency", {"seconds": 99}, "unknown", 1),
    ("latency", {"seconds": 99, "after_processing": False}, "unknown", 2),
    ("drop", {}, "unknown", 1),
    ("refuse", {}, "queued", 2),
    ("http500", {}, "unknown", 2),
])
def test_cancel_fault_then_sweep(kuroneko, shop, simulator, calls, received, kind, options,
                                 state, sent):
    _, p = authorized(kuroneko, shop)
    simulator.inject_fault(kind, operation="KAACL0010", **options)
    with pytest.raises(OperationPending):
        payments.cancel(p.id)
    assert payments.get_payment(p.id).status == "authorized"
    assert ops()[-1] == ("cancel", state)
    assert rows(models().ErrorLog)[-1].operation == "KAACL0010"
    payments.sweep()
    assert payments.get_payment(p.id).status == "cancelled"
    assert tx(simulator, p.order_no)["status"] == 2
    assert calls["KAACL0010"] == sent
    assert names(received)[-1] == "payment-cancelled"
    payments.sweep()
    assert calls["KAACL0010"] == sent


def test_cancel_unreachable_for_long_gives_up_and_tells_the_admin(kuroneko, shop, simulator):
    from flask_kuroneko.payments import journal
    _, p = authorized(kuroneko, shop)
    simulator.inject_fault("refuse", operation="KAACL0010", times=None)
    simulator.inject_fault("refuse", operation="KAAST0010", times=None)
    with pytest.raises(OperationPending):
        payments.cancel(p.id)
    for hour in range(1, journal.MAX_ATTEMPTS + 2):
        payments.sweep(now=utcnow() + timedelta(hours=hour))
    assert ops()[-1] == ("cancel", "failed")
    assert payments.get_payment(p.id).status == "authorized"
    assert rows(models().ErrorLog)[-1].code == "unresolved"


# --------------------------------------------------------------------------- the others


def test_change_tracking_timeout(kuroneko, shop, simulator, calls):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    simulator.inject_fault("latency", operation="KAASL0010", seconds=99)
    with pytest.raises(OperationPending):
        payments.change_tracking(p.id, SLIP2)
    assert payments.get_payment(p.id).tracking_no == SLIP1
    payments.sweep()
    assert payments.get_payment(p.id).tracking_no == SLIP2
    assert [s["paymentNo"] for s in tx(simulator, p.order_no)["slips"]] == [SLIP2]


def test_cancel_shipment_timeout(kuroneko, shop, simulator):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    simulator.inject_fault("drop", operation="KAASL0010")
    with pytest.raises(OperationPending):
        payments.cancel_shipment(p.id)
    assert payments.get_payment(p.id).status == "captured"
    payments.sweep()
    assert payments.get_payment(p.id).status == "authorized"


def test_change_amount_timeout(kuroneko, shop, simulator, received):
    order, p = authorized(kuroneko, shop)
    order.lines = [["テスト商品", 1, 1500, "physical"]]
    simple_shop.db.session.commit()
    simulator.inject_fault("latency", operation="KAAKK0010", seconds=99)
    with pytest.raises(OperationPending):
        payments.change_amount(p.id)
    assert payments.get_payment(p.id).amount == 3000
    payments.sweep()
    assert payments.get_payment(p.id).amount == 1500
    assert tx(simulator, p.order_no)["current_total"] == 1500
    assert names(received)[-1] == "payment-amount-changed"


def test_reissue_timeout_cannot_be_told_and_is_reported(kuroneko, shop, simulator, calls):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    simulator.deliver(MERCHANT, p.order_no)
    simulator.inject_fault("latency", operation="KAARR0010", seconds=99)
    with pytest.raises(OperationPending):
        payments.reissue_invoice(p.id, 2)
    payments.sweep()
    assert ops()[-1] == ("reissue_invoice", "failed")
    assert calls["KAARR0010"] == 1              # never sent twice: it is not idempotent
    assert "再発行" in rows(models().ErrorLog)[-1].message


def test_unknown_authorization_cancelled_at_yamato_meanwhile(kuroneko, shop, simulator,
                                                             api_client, calls, received):
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99)
    _, outcome = place(kuroneko, shop["invoice"])
    api_client.cancel(outcome.payment.order_no)      # Yamato's own admin screen
    sweep_later()
    assert payments.get_payment(outcome.payment.id).status == "declined"
    assert ops() == [("authorize", "done")] and calls["KAARA0010"] == 1
    assert names(received)[-1] == "payment-declined"


def test_amount_change_refused_while_its_reauthorization_is_unresolved(kuroneko, shop, simulator,
                                                                       calls):
    """The re-authorization of an increase timed out: the old payment is superseded until the
    sweep settles it; a second change_amount is refused before any Yamato call."""
    simulator.configure_merchant(MERCHANT, amount_increase="deny")
    order, p = authorized(kuroneko, shop)
    order.lines = [["テスト商品", 3, 1500, "physical"]]
    simple_shop.db.session.commit()
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99)
    with pytest.raises(OperationPending):
        payments.change_amount(p.id)
    calls.reset()
    with pytest.raises(InvalidTransition, match="再与信"):
        payments.change_amount(p.id)
    assert calls["KAAKK0010"] == 0 and calls["KAARA0010"] == 0
    sweep_later()
    new = payments.current_payment(order.id)
    assert (new.replaces_id, new.status, new.amount) == (p.id, "authorized", 4500)
    assert payments.get_payment(p.id).status == "cancelled"
    assert calls["KAARA0010"] == 0 and len(simulator.transactions(MERCHANT)) == 2

"""Staying in step with Yamato (M25): the sandbox's back office (and Yamato's API used behind
the shop's back, as Yamato's own admin screen would) moves a payment; one 取引状況確認 later the
shop knows, offers only what Yamato accepts, lists the 差異, and each fix button brings the
shop and Yamato together — through the real host, service, client and in-process sandbox."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flask_kuroneko import payments, signals
from flask_kuroneko.models import utcnow
from flask_kuroneko.payments import drift
from flask_kuroneko.payments.bulk_sync import sync_due
from flask_kuroneko.payments.yamato_requests import amount_change_request
from flask_kuroneko.yamato.codes import ProcessDiv
from flask_kuroneko.yamato.datatypes import ShipmentRequest
from hosts import simple_shop
from hosts.simple_shop import CANCELLED, SHIPPED, set_status
from service_support import MERCHANT, SLIP1, YAMATO, models, names, place, rows

_buyers = iter(range(2000, 9000))


def authorized(kuroneko, shop, **fields):
    """An approved 払込票 order of its own buyer (Yamato's per-buyer limit)."""
    fields.setdefault("delivery_method_id", shop["yamato_delivery"])
    order, outcome = place(kuroneko, shop["invoice"], phone=f"03-1234-{next(_buyers):04d}",
                           **fields)
    assert outcome.kind == "authorized"
    return order, outcome.payment.id


def one_sync(hours: float = 2):
    """One run of the scheduled sync (everything not synced within the hour is due)."""
    return sync_due(now=utcnow() + timedelta(hours=hours), interval=timedelta(hours=1),
                    batch=50, concurrency=2)


def fresh(pid):
    simple_shop.db.session.rollback()
    return payments.get_payment(pid)


def order_of(pid):
    return simple_shop.db.session.get(simple_shop.ShopOrder,
                                      int(payments.get_payment(pid).host_order_id))


def ship_at_yamato(api_client, pid):
    api_client.register_shipment(ShipmentRequest(order_no=fresh(pid).order_no,
                                                 process_div=ProcessDiv.NEW, slip_no=SLIP1))


def fix_names(pid) -> list[str]:
    return [fix for fix, _ in payments.drift_fix_options(fresh(pid))]


# --------------------------------------------------------------------------- the back office


def test_delivered_invoiced_paid_are_seen_within_one_sync_with_the_legal_operations(
        kuroneko, shop, simulator):
    _, pid = authorized(kuroneko, shop)
    payments.capture(pid, carrier=YAMATO, tracking_no=SLIP1)
    order_no = fresh(pid).order_no
    steps = [("deliver", 10, "売上確定", {"cancel", "change_amount", "reissue_invoice"}),
             ("invoice", 11, "請求書発行済み", {"cancel", "change_amount", "reissue_invoice"}),
             ("pay", 12, "入金済み", set())]
    for hours, (step, code, label, legal) in enumerate(steps, start=2):
        seen_before = fresh(pid).yamato_status_at
        getattr(simulator, step)(MERCHANT, order_no)
        report = one_sync(hours * 2)
        p = fresh(pid)
        assert report.asked == 1 and p.yamato_status == code
        assert payments.yamato_label(p) == label and p.drift is None
        assert p.yamato_status_at is not None and p.yamato_status_at != seen_before
        assert set(payments.operations_for(p)) - {"sync_status"} == legal, step
    assert one_sync(20).asked == 0                       # 入金済み: final, not asked again


def test_a_warning_is_recorded_with_its_time(kuroneko, shop, simulator):
    _, pid = authorized(kuroneko, shop)
    payments.capture(pid, carrier=YAMATO, tracking_no=SLIP1)
    simulator.warn(MERCHANT, fresh(pid).order_no, 3)
    one_sync()
    p = fresh(pid)
    assert payments.yamato_warning_label(p) == "商品配達状況要調査" and p.yamato_warning_at
    state = payments.payment_state(p)
    assert state.warning_label == "商品配達状況要調査" and state.warning_at.utcoffset() == \
        timedelta(hours=9)                                # Japan time on every screen


def test_late_ng_declines_flags_do_not_ship_and_clears_when_the_order_is_cancelled(
        app, kuroneko, shop, simulator, received):
    order, pid = authorized(kuroneko, shop)
    simulator.flip_ng(MERCHANT, fresh(pid).order_no)
    report = one_sync()
    p = fresh(pid)
    assert report.drifts == 1 and p.status == "declined" and p.drift_kind == drift.LATE_NG
    assert "発送しないで" in payments.do_not_ship(p)
    declined = [kw for name, kw in received if name == "payment-declined"]
    assert declined and declined[-1]["do_not_ship"] is True
    assert payments.operations_for(p) == []              # nothing Yamato would accept
    assert fix_names(pid) == ["acknowledge"]             # nothing of ours to send
    assert payments.open_drift_count() == 1
    set_status(app, order_of(pid), CANCELLED)            # the merchant cancels the order
    p = fresh(pid)
    assert p.drift is None and p.drift_kind is None and payments.open_drift_count() == 0
    assert payments.do_not_ship(p)                       # the flag stays with the payment
    assert rows(models().PaymentHistory, payment_id=pid)[-1].result == "状態一致"


def test_cancelled_behind_our_back_is_followed_listed_and_acknowledged(
        kuroneko, shop, api_client, received):
    _, pid = authorized(kuroneko, shop)
    api_client.cancel(fresh(pid).order_no)               # in Yamato's own admin screen
    assert one_sync().drifts == 1
    p = fresh(pid)
    assert (p.status, p.drift_kind) == ("cancelled", drift.YAMATO_CANCELLED)
    assert payments.do_not_ship(p) and "payment-cancelled" in names(received)
    assert fix_names(pid) == ["acknowledge"]
    payments.fix_drift(pid, "acknowledge", actor="admin")
    p = fresh(pid)
    assert p.drift_acknowledged_by == "admin" and payments.open_drift_count() == 0
    assert p.drift_kind == drift.YAMATO_CANCELLED          # kept on record, not open
    assert fix_names(pid) == []


def test_shipped_behind_our_back_fixed_by_sending_our_shipment_cancel(
        kuroneko, shop, simulator, api_client):
    _, pid = authorized(kuroneko, shop)
    ship_at_yamato(api_client, pid)
    assert one_sync().drifts == 1
    p = fresh(pid)
    assert (p.status, p.drift_kind) == ("captured", drift.YAMATO_CAPTURED)
    assert fix_names(pid) == ["cancel_shipment", "acknowledge"]
    payments.fix_drift(pid, "cancel_shipment", actor="admin")
    p = fresh(pid)
    assert p.status == "authorized" and p.drift is None
    assert simulator.transaction(MERCHANT, p.order_no)["status"] == 1 == p.yamato_status


def test_shipment_cancelled_behind_our_back_fixed_by_sending_our_capture(
        app, kuroneko, shop, simulator, api_client):
    order, pid = authorized(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1)
    set_status(app, order, SHIPPED)                       # captured through the host
    assert fresh(pid).status == "captured"
    api_client.register_shipment(ShipmentRequest(order_no=fresh(pid).order_no,
                                                 process_div=ProcessDiv.CANCEL))
    assert one_sync().drifts == 1
    p = fresh(pid)
    assert (p.status, p.drift_kind) == ("authorized", drift.YAMATO_SHIPMENT_CANCELLED)
    assert fix_names(pid) == ["capture", "acknowledge"]
    payments.fix_drift(pid, "capture", actor="admin")   # the order's 送り状番号 again
    p = fresh(pid)
    assert (p.status, p.tracking_no, p.drift) == ("captured", SLIP1, None)
    assert simulator.transaction(MERCHANT, p.order_no)["status"] == 3


def test_amount_changed_behind_our_back_is_adopted_when_the_shop_sends_the_same_total(
        app, kuroneko, shop, simulator, api_client, calls):
    """Yamato's amount cannot be read (KAAST0010 answers status and warning only): a sync
    sees nothing. When the merchant changes the order too, the 差異 is listed; sending ours
    meets Yamato's 'already this amount' (kaakk049E) and the shop adopts it."""
    order, pid = authorized(kuroneko, shop)
    smaller = simple_shop.order_data(lines=[["テスト商品", 1, 1500, "physical"]])
    api_client.change_amount(amount_change_request(smaller, order_no=fresh(pid).order_no))
    assert simulator.transaction(MERCHANT, fresh(pid).order_no)["current_total"] == 1500
    one_sync()
    assert fresh(pid).drift is None and fresh(pid).amount == 3000   # invisible to KAAST0010
    order = order_of(pid)
    order.lines = [["テスト商品", 1, 1500, "physical"]]          # the merchant edits the order
    simple_shop.db.session.flush()
    signals.order_updated.send(app, order=order)
    simple_shop.db.session.commit()
    p = fresh(pid)
    assert p.drift_kind == drift.HOST_AMOUNT and "1,500円" in p.drift and "3,000円" in p.drift
    assert fix_names(pid) == ["change_amount", "acknowledge"]
    calls.reset()
    payments.fix_drift(pid, "change_amount", actor="admin")
    p = fresh(pid)
    assert (p.amount, p.drift) == (1500, None) and calls["KAAKK0010"] == 1
    assert "ヤマトでは既にこの金額" in rows(models().PaymentHistory, payment_id=pid)[-2].detail


# --------------------------------------------------------------------------- the host's side


def test_order_cancelled_while_yamato_holds_the_payment_fixed_by_sending_our_cancel(
        app, kuroneko, shop, simulator):
    order, pid = authorized(kuroneko, shop)                # 「受注キャンセルで取消」 is off
    set_status(app, order, CANCELLED)
    p = fresh(pid)
    assert (p.status, p.drift_kind) == ("authorized", drift.HOST_CANCELLED)
    assert rows(models().ErrorLog) == []                   # the host's own doing: listed only
    assert fix_names(pid) == ["cancel", "acknowledge"]
    payments.fix_drift(pid, "cancel", actor="admin")
    p = fresh(pid)
    assert (p.status, p.drift) == ("cancelled", None)
    assert simulator.transaction(MERCHANT, p.order_no)["status"] == 2


def test_total_changed_fixed_by_sending_our_amount(app, kuroneko, shop, simulator):
    order, pid = authorized(kuroneko, shop)
    order.lines = [["テスト商品", 3, 1500, "physical"]]
    simple_shop.db.session.flush()
    signals.order_updated.send(app, order=order)
    simple_shop.db.session.commit()
    assert fresh(pid).drift_kind == drift.HOST_AMOUNT
    payments.fix_drift(pid, "change_amount", actor="admin")
    p = fresh(pid)
    assert (p.amount, p.drift) == (4500, None)
    assert simulator.transaction(MERCHANT, p.order_no)["current_total"] == 4500


def test_a_drift_resolved_by_the_host_alone_clears(app, kuroneko, shop):
    order, pid = authorized(kuroneko, shop)
    set_status(app, order, CANCELLED)
    assert fresh(pid).drift_kind == drift.HOST_CANCELLED
    set_status(app, order_of(pid), simple_shop.NEW)           # changed their mind
    assert fresh(pid).drift is None


def test_no_drift_while_the_reaction_keeps_things_in_step(app, kuroneko, shop):
    from flask_kuroneko.settings import save_settings
    save_settings({"cancel_with_order": True})
    order, pid = authorized(kuroneko, shop)
    set_status(app, order, CANCELLED)
    p = fresh(pid)
    assert p.status == "cancelled" and p.drift is None


def test_the_same_drift_is_reported_once_and_a_new_one_reopens_an_acknowledged_payment(
        app, kuroneko, shop, simulator):
    order, pid = authorized(kuroneko, shop)
    set_status(app, order, CANCELLED)
    payments.acknowledge_drift(pid, actor="admin")
    history = len(rows(models().PaymentHistory, payment_id=pid))
    payments.check_drift(pid)                              # found again: nothing new
    assert len(rows(models().PaymentHistory, payment_id=pid)) == history
    assert payments.open_drift_count() == 0
    set_status(app, order_of(pid), simple_shop.NEW)
    order = order_of(pid)
    order.lines = [["テスト商品", 1, 1000, "physical"]]
    simple_shop.db.session.flush()
    signals.order_updated.send(app, order=order)
    simple_shop.db.session.commit()
    p = fresh(pid)
    assert p.drift_kind == drift.HOST_AMOUNT and p.drift_acknowledged_at is None
    assert payments.open_drift_count() == 1


def test_fix_not_offered_is_refused(kuroneko, shop):
    from flask_kuroneko.errors import InvalidTransition
    _, pid = authorized(kuroneko, shop)
    with pytest.raises(InvalidTransition):
        payments.fix_drift(pid, "cancel", actor="admin")      # no drift at all
    assert fresh(pid).status == "authorized"


def test_unknown_at_yamato_is_listed_and_can_be_acknowledged(kuroneko, shop, simulator):
    _, pid = authorized(kuroneko, shop)
    simulator.reset()                                     # Yamato has lost the transaction
    payments.sync_status(pid)
    p = fresh(pid)
    assert p.drift_kind == drift.YAMATO_MISSING and p.status == "authorized"
    assert fix_names(pid) == ["sync_status", "acknowledge"]
    payments.fix_drift(pid, "sync_status", actor="admin")   # asked again: still unknown
    assert fresh(pid).drift_kind == drift.YAMATO_MISSING
    assert len([e for e in rows(models().ErrorLog) if e.code == "kaast008E"]) == 1
    payments.fix_drift(pid, "acknowledge", actor="admin")
    assert payments.open_drift_count() == 0


def test_the_sweep_reviews_drifts_no_sync_visits(app, kuroneko, shop, api_client):
    """A host that changes its order without sending the signal: the sweep finds the order
    cancelled after Yamato's cancellation and clears the drift."""
    _, pid = authorized(kuroneko, shop)
    api_client.cancel(fresh(pid).order_no)
    one_sync()
    assert fresh(pid).drift_kind == drift.YAMATO_CANCELLED
    order = order_of(pid)
    order.status = CANCELLED                                  # no signal sent
    simple_shop.db.session.commit()
    report = payments.sweep(now=utcnow() + timedelta(hours=3))
    assert report.drifts_resolved == 1 and fresh(pid).drift is None

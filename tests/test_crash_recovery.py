"""A shop process killed with SIGKILL in the middle of every payment operation — before its
request left, or between Yamato's answer and our commit — then one real `flask kuroneko sweep`
in another process: the shop and the sandbox agree, nothing is lost and nothing is done twice.

The crash is real (tests/crash_worker.py kills its own process from inside the requests
transport); the database and the sandbox state file are shared as in production. The dead
process's journal claim does not delay the sweep (its pid is gone). Runs on SQLite,
PostgreSQL and MariaDB (database_url).
"""
from __future__ import annotations

from collections import Counter

import pytest

from flask_kuroneko import payments
from flask_kuroneko.payments import journal
from hosts import simple_shop
from process_support import crash, flask_cli
from service_support import MERCHANT, SLIP1, SLIP2, YAMATO, models, place, rows, setup_shop

pytestmark = pytest.mark.slow
MOMENTS = ("before", "after")


@pytest.fixture
def world(process_shop, database_url):
    app, state_file = process_shop
    ids = setup_shop()
    return {"db": database_url, "state": state_file, "ids": ids,
            "simulator": simple_shop.kuroneko.simulator}


def sweep(world) -> str:
    simple_shop.db.session.remove()
    result = flask_cli(world["db"], world["state"], "kuroneko", "sweep")
    assert result.returncode == 0, result.stderr[-3000:]
    simple_shop.db.session.expire_all()
    return result.stdout


def yamato(world, order_no: str) -> dict:
    return world["simulator"].transaction(MERCHANT, order_no)


def events(world, order_no: str) -> Counter:
    return Counter(e["event"] for e in yamato(world, order_no)["history"])


def authorized(world):
    _, outcome = place(simple_shop.kuroneko, world["ids"]["invoice"],
                       delivery_method_id=world["ids"]["yamato_delivery"])
    assert outcome.kind == "authorized"
    simple_shop.db.session.commit()
    return outcome.payment


def captured(world):
    p = authorized(world)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    return p


def settled(payment_id: int) -> None:
    """The journal holds nothing open for the payment, and no operation ran twice."""
    p = payments.get_payment(payment_id)
    assert p.open_operation is None
    ops = rows(models().Operation, payment_id=payment_id)
    assert all(op.state in (journal.DONE, journal.FAILED) for op in ops), \
        [(op.operation, op.state) for op in ops]
    done = Counter(h.operation for h in rows(models().PaymentHistory, payment_id=payment_id)
                   if h.result == "OK")
    assert all(n == 1 for n in done.values()), done


@pytest.mark.parametrize("moment", MOMENTS)
def test_authorize_invoice(world, moment):
    crash(world["db"], world["state"], moment, "KAARA0010", "authorize", world["ids"]["invoice"])
    [p] = rows(models().Payment)
    assert p.status == "pending" and p.open_operation == "authorize"
    out = sweep(world)
    assert "operations_settled=1" in out, out
    p = payments.get_payment(p.id)
    assert p.status == "authorized" and p.authorized_at is not None
    assert len(world["simulator"].transactions(MERCHANT)) == 1
    assert yamato(world, p.order_no)["status"] == 1
    assert events(world, p.order_no)["authorize"] == 1
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_authorize_smartphone(world, moment):
    crash(world["db"], world["state"], moment, "KAARA0010", "authorize",
          world["ids"]["smartphone"], "090-1234-5678")
    [p] = rows(models().Payment)
    sweep(world)
    p = payments.get_payment(p.id)
    if moment == "after":      # Yamato sent the SMS: the customer may still enter the code
        assert p.status == "awaiting_sms" and p.sms_sent_at is not None
        assert yamato(world, p.order_no)["status"] == 30
    else:                      # never reached Yamato: no SMS out of the blue, 決済不可
        assert p.status == "declined"
        assert yamato(world, p.order_no) is None
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_verify_sms(world, moment):
    _, outcome = place(simple_shop.kuroneko, world["ids"]["smartphone"],
                       form={"sms_phone": "090-1234-5678"})
    p = outcome.payment
    code = world["simulator"].sms_code(MERCHANT, p.order_no)
    simple_shop.db.session.commit()
    crash(world["db"], world["state"], moment, "KAASA0020", "verify_sms", p.id, code)
    assert payments.get_payment(p.id).open_operation == "verify_sms"
    sweep(world)
    p = payments.get_payment(p.id)
    if moment == "after":      # Yamato accepted the code: 与信, never expired later
        assert p.status == "authorized" and yamato(world, p.order_no)["status"] == 1
    else:                      # the code never arrived: still waiting, the customer retries
        assert p.status == "awaiting_sms" and yamato(world, p.order_no)["status"] == 30
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_capture(world, moment):
    p = authorized(world)
    crash(world["db"], world["state"], moment, "KAASL0010", "capture", p.id, SLIP1)
    assert payments.get_payment(p.id).status == "authorized"
    out = sweep(world)
    assert "operations_settled=1" in out, out
    p = payments.get_payment(p.id)
    assert (p.status, p.tracking_no, p.process_div) == ("captured", SLIP1, 0)
    assert [s["paymentNo"] for s in yamato(world, p.order_no)["slips"]] == [SLIP1]
    assert yamato(world, p.order_no)["status"] == 3
    assert events(world, p.order_no)["slip_registered"] == 1
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_change_tracking(world, moment):
    p = captured(world)
    crash(world["db"], world["state"], moment, "KAASL0010", "change_tracking", p.id, SLIP2)
    sweep(world)
    p = payments.get_payment(p.id)
    assert (p.status, p.tracking_no) == ("captured", SLIP2)
    assert [s["paymentNo"] for s in yamato(world, p.order_no)["slips"]] == [SLIP2]
    assert events(world, p.order_no)["slip_changed"] == 1
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_cancel_shipment(world, moment):
    p = captured(world)
    crash(world["db"], world["state"], moment, "KAASL0010", "cancel_shipment", p.id)
    sweep(world)
    p = payments.get_payment(p.id)
    assert (p.status, p.tracking_no, p.captured_at) == ("authorized", None, None)
    assert yamato(world, p.order_no)["status"] == 1
    assert events(world, p.order_no)["shipment_cancelled"] == 1
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_cancel(world, moment):
    p = authorized(world)
    crash(world["db"], world["state"], moment, "KAACL0010", "cancel", p.id)
    assert payments.get_payment(p.id).status == "authorized"
    out = sweep(world)
    assert "operations_settled=1" in out, out
    p = payments.get_payment(p.id)
    assert p.status == "cancelled" and p.cancelled_at is not None
    assert yamato(world, p.order_no)["status"] == 2
    assert events(world, p.order_no)["cancelled"] == 1
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_change_amount(world, moment):
    p = authorized(world)
    order = simple_shop.db.session.get(simple_shop.ShopOrder, int(p.host_order_id))
    order.lines = [["テスト商品", 1, 1500, "physical"]]          # 3,000円 → 1,500円
    simple_shop.db.session.commit()
    crash(world["db"], world["state"], moment, "KAAKK0010", "change_amount", p.id)
    sweep(world)
    p = payments.get_payment(p.id)
    assert (p.status, p.amount) == ("authorized", 1500)
    assert yamato(world, p.order_no)["current_total"] == 1500
    assert events(world, p.order_no)["amount_changed"] == 1
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_reissue_invoice(world, moment):
    """A reissue leaves no trace Yamato can be asked about: the sweep never resends a request
    that may have arrived; it tells the admin to check (決済エラーログ)."""
    p = captured(world)
    world["simulator"].deliver(MERCHANT, p.order_no)
    errors_before = len(rows(models().ErrorLog))
    crash(world["db"], world["state"], moment, "KAARR0010", "reissue_invoice", p.id)
    sweep(world)
    assert yamato(world, p.order_no)["reissue"]["count"] == (1 if moment == "after" else 0)
    logs = rows(models().ErrorLog)[errors_before:]
    assert [log.code for log in logs] == ["unresolved"]
    settled(p.id)


@pytest.mark.parametrize("moment", MOMENTS)
def test_restart_sms(world, moment):
    _, outcome = place(simple_shop.kuroneko, world["ids"]["smartphone"],
                       form={"sms_phone": "090-1234-5678"})
    old = outcome.payment
    simple_shop.db.session.commit()
    crash(world["db"], world["state"], moment, "KAARA0010", "restart_sms", old.id)
    old_row, new = rows(models().Payment)
    assert old_row.status == "declined" and new.replaces_id == old.id   # one commit, both
    sweep(world)
    new = payments.get_payment(new.id)
    if moment == "after":
        assert new.status == "awaiting_sms" and yamato(world, new.order_no)["status"] == 30
    else:
        assert new.status == "declined" and yamato(world, new.order_no) is None
    settled(new.id)


def test_a_second_sweep_finds_nothing_left(world):
    p = authorized(world)
    crash(world["db"], world["state"], "after", "KAACL0010", "cancel", p.id)
    sweep(world)
    snapshot = [(t["orderNo"], t["status"], len(t["history"]))
                for t in world["simulator"].transactions(MERCHANT)]
    out = sweep(world)
    assert "operations_settled=0" in out and "errors=0" in out
    assert [(t["orderNo"], t["status"], len(t["history"]))
            for t in world["simulator"].transactions(MERCHANT)] == snapshot

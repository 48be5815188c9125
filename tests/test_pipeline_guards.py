"""Behaviours of the pipeline that a one-line change could break while every other test stays
green — each test here fails when its guard is removed:

- an operation whose outcome is unknown, and whose status inquiry also fails in the sweep,
  stays unsettled and is asked again later (capture, authorization, SMS verification);
- a merchant-code refusal (kaara003E) is reported as a settings problem, not as the
  customer's input;
- two completion pages loaded at the same moment print the conversion tag once;
- the payment row lock is really taken: two admins' 取消 at the same moment — both threads held
  at the point right after loading the payment — send one KAACL0010 (fails without
  ``FOR UPDATE`` on PostgreSQL/MariaDB, without the process lock on SQLite);
- the status writer refuses a move its table does not hold.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from flask_kuroneko import payments
from flask_kuroneko.errors import InvalidTransition, OperationPending
from flask_kuroneko.models import utcnow
from flask_kuroneko.payments import messages, status
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from service_support import SLIP1, YAMATO, models, place, rows, tx


def sweep_at(minutes: float):
    return payments.sweep(now=utcnow() + timedelta(minutes=minutes))


def authorized(kuroneko, shop):
    _, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    assert outcome.kind == "authorized"
    return outcome.payment


def only_op():
    """The one journal row still open."""
    [op] = [o for o in rows(models().Operation) if o.state in ("unknown", "queued")]
    return op


def refuse_status_inquiries(simulator):
    for api in ("KAAST0010", "KAARS0010"):
        simulator.inject_fault("refuse", operation=api, times=None)


# --------------------------------------------------------------------------- unknown stays open


def test_unknown_capture_stays_open_while_yamato_cannot_be_asked(kuroneko, shop, simulator):
    p = authorized(kuroneko, shop)
    simulator.inject_fault("latency", operation="KAASL0010", seconds=99)    # answer lost
    with pytest.raises(OperationPending):
        payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    refuse_status_inquiries(simulator)
    report = sweep_at(2)
    p = payments.get_payment(p.id)
    assert (p.status, p.open_operation) == ("authorized", "capture")
    assert (only_op().operation, only_op().state, only_op().attempts) == ("capture", "unknown", 1)
    assert (report.operations_settled, report.operations_retrying) == (0, 1)
    simulator.clear_faults()
    assert sweep_at(30).operations_settled == 1
    p = payments.get_payment(p.id)
    assert (p.status, p.tracking_no, p.open_operation) == ("captured", SLIP1, None)
    assert [s["paymentNo"] for s in tx(simulator, p.order_no)["slips"]] == [SLIP1]


def test_unknown_authorization_stays_open_while_yamato_cannot_be_asked(kuroneko, shop,
                                                                       simulator):
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99)
    _, outcome = place(kuroneko, shop["invoice"])
    assert outcome.kind == "pending"
    refuse_status_inquiries(simulator)
    report = sweep_at(2)
    p = payments.get_payment(outcome.payment.id)
    assert (p.status, p.open_operation) == ("pending", "authorize")
    assert (only_op().state, report.operations_settled) == ("unknown", 0)
    simulator.clear_faults()
    assert sweep_at(30).operations_settled == 1
    assert payments.get_payment(p.id).status == "authorized"
    assert len(simulator.transactions()) == 1


def test_unknown_sms_verification_stays_open_and_is_not_expired(kuroneko, shop, simulator):
    _, outcome = place(kuroneko, shop["smartphone"], form={"sms_phone": "090-1234-5678"})
    p = outcome.payment
    code = simulator.sms_code("12345678901", p.order_no)
    simulator.inject_fault("latency", operation="KAASA0020", seconds=99)   # accepted, lost
    result = payments.verify_sms(p.id, code)
    assert result.kind == "pending"
    refuse_status_inquiries(simulator)
    sweep_at(45)                          # the 30 minutes are over, Yamato cannot be asked
    p = payments.get_payment(p.id)
    assert (p.status, p.open_operation) == ("awaiting_sms", "verify_sms")
    assert only_op().state == "unknown"
    simulator.clear_faults()
    sweep_at(90)
    p = payments.get_payment(p.id)
    assert (p.status, p.open_operation) == ("authorized", None)


# --------------------------------------------------------------------------- settings problem


def test_a_credentials_refusal_is_a_settings_problem(kuroneko, shop, simulator):
    """Yamato refuses our merchant code or password (kaara001E–005E, 090E–092E): the customer
    is told 後払い is unavailable now (not to check their input); the 決済エラーログ says to
    check the settings."""
    simulator.configure_merchant("12345678901", password="changedpw1")   # ours is now wrong
    _, outcome = place(kuroneko, shop["invoice"])
    assert outcome.kind == "declined"
    assert outcome.message == messages.MSG_UNAVAILABLE          # not "check your input"
    [log] = rows(models().ErrorLog)
    assert log.code.startswith("kaara0") and "加盟店コードまたはパスワード" in log.message
    assert "設定を確認してください" in log.message


# --------------------------------------------------------------------------- conversion tag


def hold_at(engine, fragment: str, parties: int):
    """Hold every thread at the first statement containing ``fragment`` until ``parties``
    threads are there (or 2 s passed): the worst interleaving, on purpose."""
    barrier = threading.Barrier(parties)
    seen = threading.local()

    def before(conn, cursor, statement, params, context, executemany):
        if fragment in statement and not getattr(seen, "done", False):
            seen.done = True
            try:
                barrier.wait(timeout=2)
            except threading.BrokenBarrierError:
                pass
    sa.event.listen(engine, "before_cursor_execute", before)
    return lambda: sa.event.remove(engine, "before_cursor_execute", before)


def in_threads(app, work, n=2):
    results: list = [None] * n

    def run(i):
        with app.app_context():
            try:
                results[i] = work()
            except Exception as exc:          # collected, asserted by the test
                results[i] = exc
            finally:
                simple_shop.db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_two_completion_pages_at_once_print_the_conversion_tag_once(app, kuroneko, shop):
    save_settings({"conversion_tag": "<img src='https://ads.example/c?o={order_id}'>"})
    order_id = authorized(kuroneko, shop).host_order_id     # read here: the threads must not
    simple_shop.db.session.commit()                           # touch this session's objects
    release = hold_at(simple_shop.db.engine, "UPDATE kuroneko_payments SET conversion_shown_at", 2)
    try:
        tags = in_threads(app, lambda: str(kuroneko.conversion_tag(order_id)))
    finally:
        release()
    assert sorted(bool(t) for t in tags) == [False, True], tags


# --------------------------------------------------------------------------- the row lock


def test_the_payment_row_lock_is_taken(app, kuroneko, shop, calls):
    pid = authorized(kuroneko, shop).id
    simple_shop.db.session.commit()
    calls.reset()
    release = hold_at(simple_shop.db.engine, "kuroneko_payments.id = ", 2)
    try:
        results = in_threads(app, lambda: payments.cancel(pid, actor="admin"))
    finally:
        release()
    assert calls["KAACL0010"] == 1
    assert sum(isinstance(r, InvalidTransition) for r in results) == 1, results
    simple_shop.db.session.rollback()
    assert payments.get_payment(pid).status == "cancelled"


# --------------------------------------------------------------------------- the status writer


def test_the_status_writer_refuses_a_move_outside_its_table(kuroneko, shop):
    p = authorized(kuroneko, shop)
    with pytest.raises(status.IllegalStatusMove):
        status.move(p, "pending")
    status.move(p, "captured")
    assert p.status == "captured" and p.captured_at is not None
    status.move(p, "authorized")
    assert p.captured_at is None and p.authorized_at is not None
    simple_shop.db.session.rollback()


def test_every_status_can_be_reached_and_final_ones_are_final():
    reachable = {new for targets in status.MOVES.values() for new in targets}
    assert reachable | {status.S.PENDING} == set(status.S)
    assert status.FINAL == {status.S.DECLINED, status.S.CANCELLED}

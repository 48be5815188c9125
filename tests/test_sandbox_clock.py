"""Sandbox clock, back-office API (spec §6.8), warnings, stores and thread safety."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from flask_kuroneko.sandbox import (MerchantConfig, Simulator, SqliteStore, TransitionError,
                                    UnknownTransaction, sandbox_session)
from test_sandbox_support import (MERCHANT, NOW, authorize, basic_form, kaara_form, post,
                                  ship, status_of)

BASE = "http://sandbox.kuroneko.invalid/_sim"
JST = timezone(timedelta(hours=9))


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


# --------------------------------------------------------------------------- clock

def test_clock_freeze_and_advance(simulator):
    assert simulator.now() == NOW.replace(tzinfo=JST)
    simulator.advance(90)
    assert simulator.now() == NOW.replace(tzinfo=JST) + timedelta(seconds=90)
    simulator.set_now(datetime(2024, 1, 1, 3, 0, tzinfo=timezone.utc))
    assert simulator.now().isoformat() == "2024-01-01T12:00:00+09:00"


def test_real_time_by_default():
    sim = Simulator()
    before = datetime.now(JST)
    assert before - timedelta(seconds=1) <= sim.now() <= datetime.now(JST) + timedelta(seconds=1)
    sim.advance(3600)
    assert sim.now() - datetime.now(JST) > timedelta(minutes=59)


def test_clock_over_http(sandbox_session):
    answer = sandbox_session.post(f"{BASE}/clock", json={"now": "2024-02-01T09:00:00+09:00"})
    assert answer.json()["now"] == "2024-02-01T09:00:00+09:00"
    answer = sandbox_session.post(f"{BASE}/clock/advance", json={"seconds": 3600})
    assert answer.json()["now"] == "2024-02-01T10:00:00+09:00"
    assert sandbox_session.get(f"{BASE}/clock").json()["now"] == "2024-02-01T10:00:00+09:00"
    assert sandbox_session.post(f"{BASE}/tick").json()["now"] == "2024-02-01T10:00:00+09:00"
    assert authorize(sandbox_session, shipYmd="20240205", orderYmd="20240201")["returnDate"] \
        == "20240201100000"


def test_review_resolved_by_tick(simulator, sandbox_session):
    authorize(sandbox_session, telNum="0312349993")
    simulator.advance(600)     # advance() ticks: the state changed without an API call
    assert simulator.transaction(MERCHANT, "T0001")["status"] == 1


def test_review_delay_configurable():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(review_delay_seconds=60)})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session, telNum="0312349994")
    sim.advance(60)
    assert status_of(session)[0] == "32"


# --------------------------------------------------------------------------- back office

def test_back_office_lifecycle(simulator, sandbox_session):
    authorize(sandbox_session)
    ship(sandbox_session)
    assert simulator.investigate(MERCHANT, "T0001")["status"] == 5
    assert simulator.deliver(MERCHANT, "T0001")["status"] == 10
    assert simulator.invoice(MERCHANT, "T0001")["status"] == 11
    assert simulator.pay(MERCHANT, "T0001")["status"] == 12
    assert status_of(sandbox_session) == ("12", "0")
    events = [h["event"] for h in simulator.transaction(MERCHANT, "T0001")["history"]]
    assert events == ["authorize", "slip_registered", "investigation", "delivered",
                      "invoice_issued", "paid"]


def test_back_office_refuses_illegal_transitions(simulator, sandbox_session):
    authorize(sandbox_session)
    with pytest.raises(TransitionError):
        simulator.deliver(MERCHANT, "T0001")
    with pytest.raises(TransitionError):
        simulator.pay(MERCHANT, "T0001")
    with pytest.raises(TransitionError):
        simulator.resolve_review(MERCHANT, "T0001", 0)
    with pytest.raises(TransitionError):
        simulator.expire_sms(MERCHANT, "T0001")
    with pytest.raises(TransitionError):
        simulator.warn(MERCHANT, "T0001", 4)
    with pytest.raises(UnknownTransaction):
        simulator.deliver(MERCHANT, "NOPE")
    assert simulator.transaction(MERCHANT, "T0001")["status"] == 1


def test_warn_sets_status_6_and_registration_clears_it(simulator, sandbox_session):
    authorize(sandbox_session)
    simulator.warn(MERCHANT, "T0001", 2)
    assert status_of(sandbox_session) == ("6", "2")
    ship(sandbox_session)
    assert status_of(sandbox_session) == ("3", "0")


def test_resolve_review_and_flip_ng(simulator, sandbox_session):
    authorize(sandbox_session, "R1", telNum="0312349993")
    simulator.resolve_review(MERCHANT, "R1", 2)
    assert post(sandbox_session, "KAARS0010", basic_form("R1"))["result"] == "2"
    assert status_of(sandbox_session, "R1")[0] == "32"
    authorize(sandbox_session, "A1")
    simulator.flip_ng(MERCHANT, "A1")
    assert status_of(sandbox_session, "A1")[0] == "32"
    assert post(sandbox_session, "KAARS0010", basic_form("A1"))["result"] == "1"


def test_back_office_over_http(sandbox_session):
    authorize(sandbox_session)
    ship(sandbox_session)
    tx_url = f"{BASE}/tx/{MERCHANT}/T0001"
    assert sandbox_session.get(tx_url).json()["status"] == 3
    assert sandbox_session.post(f"{tx_url}/deliver").json()["status"] == 10
    conflict = sandbox_session.post(f"{tx_url}/pay")
    assert conflict.status_code == 409 and "請求書発行済み" in conflict.json()["error"]
    assert sandbox_session.post(f"{tx_url}/invoice").json()["status"] == 11
    assert sandbox_session.post(f"{tx_url}/pay").json()["status"] == 12
    assert sandbox_session.get(f"{BASE}/tx/{MERCHANT}/NOPE").status_code == 404
    assert sandbox_session.post(f"{BASE}/tx/{MERCHANT}/NOPE/deliver").status_code == 404
    assert sandbox_session.post(f"{tx_url}/explode").status_code == 404
    authorize(sandbox_session, "R1", telNum="0312349995")
    answer = sandbox_session.post(f"{BASE}/tx/{MERCHANT}/R1/resolve-review", json={"result": 0})
    assert answer.json()["status"] == 1
    authorize(sandbox_session, "W1")
    answer = sandbox_session.post(f"{BASE}/tx/{MERCHANT}/W1/warn", data={"warning": "3"})
    assert (answer.json()["status"], answer.json()["warning"]) == (6, 3)
    authorize(sandbox_session, "S1", sendDiv="3", telNum="09012345678")
    assert sandbox_session.post(f"{BASE}/tx/{MERCHANT}/S1/expire-sms").json()["status"] == 31
    sandbox_session.post(f"{BASE}/tx/{MERCHANT}/W1/flip-ng")       # 6 is not "approved"
    listing = sandbox_session.get(f"{BASE}/tx", params={"merchant": MERCHANT}).json()
    assert [tx["orderNo"] for tx in listing] == ["T0001", "R1", "W1", "S1"]
    assert sandbox_session.get(f"{BASE}/tx", params={"merchant": "00000000000"}).json() == []


def test_reset(simulator, sandbox_session):
    authorize(sandbox_session, sendDiv="3", telNum="09012345678")
    simulator.inject_fault("http500", operation="KAACL0010")
    simulator.advance(100)
    assert sandbox_session.post(f"{BASE}/reset").json() == {"ok": True}
    assert simulator.transactions() == [] and simulator.sms_outbox == []
    assert simulator.faults() == [] and simulator.push_log == []
    assert abs(simulator.now() - datetime.now(JST)) < timedelta(seconds=5)
    simulator.set_now(NOW)
    assert authorize(sandbox_session)["result"] == "0"   # the orderNo is free again


def test_merchant_configuration(simulator, sandbox_session):
    changed = simulator.configure_merchant(MERCHANT, contracts={"bundle": True},
                                           **{"sms.code": "4321"})
    assert changed.contracts.bundle and changed.sms.code == "4321"
    assert "testpass" not in repr(changed)
    authorize(sandbox_session, sendDiv="3", telNum="09012345678")
    assert simulator.sms_code(MERCHANT, "T0001") == "4321"
    listing = sandbox_session.get(f"{BASE}/merchants").json()
    assert listing[MERCHANT]["contracts"]["bundle"] is True
    assert "password" not in listing[MERCHANT]
    answer = sandbox_session.post(f"{BASE}/merchants/22222222222",
                                  json={"password": "other1", "amount_increase": "deny"})
    assert answer.json()["amount_increase"] == "deny"
    assert post(sandbox_session, "KAARA0010", kaara_form(
        "T0001", ycfStrCode="22222222222", password="other1"))["result"] == "0"
    bad = sandbox_session.post(f"{BASE}/merchants/{MERCHANT}", json={"colour": "red"})
    assert bad.status_code == 400
    with pytest.raises(ValueError):
        simulator.configure_merchant(MERCHANT, amount_increase="sometimes")


# --------------------------------------------------------------------------- auto advance

def test_auto_advance_yamato_slip():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(auto_advance=True)})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session)
    ship(session)
    sim.advance(2 * 86400 - 1)
    assert status_of(session)[0] == "3"
    sim.advance(1)
    assert status_of(session)[0] == "10"
    sim.advance(86400)
    assert status_of(session)[0] == "11"
    sim.advance(7 * 86400)
    assert status_of(session)[0] == "12"


def test_auto_advance_jumps_through_in_one_step():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(auto_advance=True)})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session)
    ship(session)
    sim.advance(30 * 86400)
    tx = sim.transaction(MERCHANT, "T0001")
    assert tx["status"] == 12
    assert tx["paid_at"] == "2024-01-11T12:00:00+09:00"   # 2 + 1 + 7 days after shipping


def test_auto_advance_other_carrier_and_bundle():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(auto_advance=True,
                                                        contracts={"bundle": True})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session, "O1")
    post(session, "KAASL0010", basic_form("O1", processDiv="2", paymentNo="SAGAWA1"))
    authorize(session, "B1", sendDiv="2")
    ship(session, "B1")
    sim.advance(2 * 86400)
    assert status_of(session, "O1")[0] == "3"
    assert status_of(session, "B1")[0] == "11"      # 同梱: invoice issued at delivery
    sim.advance(86400)
    assert status_of(session, "O1")[0] == "10"


def test_auto_advance_off_by_default(simulator, sandbox_session):
    authorize(sandbox_session)
    ship(sandbox_session)
    simulator.advance(30 * 86400)
    assert status_of(sandbox_session)[0] == "3"


# --------------------------------------------------------------------------- warnings

def test_warning_1_when_not_shipped_in_time(simulator, sandbox_session):
    authorize(sandbox_session)                      # shipYmd 2024-01-05
    simulator.set_now(datetime(2024, 1, 12, 23, 59))
    assert status_of(sandbox_session) == ("1", "0")
    simulator.set_now(datetime(2024, 1, 13, 0, 0))
    assert status_of(sandbox_session) == ("1", "1")
    ship(sandbox_session)
    assert status_of(sandbox_session) == ("3", "0")


def test_warning_4_until_print_data_downloaded():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(contracts={"bundle": True})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session, sendDiv="2")
    ship(session)
    assert status_of(session) == ("3", "4")
    post(session, "KAASD0010", basic_form())
    assert status_of(session) == ("3", "0")


# --------------------------------------------------------------------------- stores

def test_sqlite_store_shared_between_simulators(tmp_path):
    path = str(tmp_path / "state.sqlite")
    web = Simulator(store=SqliteStore(path))
    cli = Simulator(store=SqliteStore(path))
    web.set_now(NOW)
    session = sandbox_session(web)
    authorize(session, telNum="0312349993")
    authorize(session, "S1", sendDiv="3", telNum="09012345678")
    assert cli.now() == web.now()
    assert cli.transaction(MERCHANT, "T0001")["status"] == 30
    assert [m["orderNo"] for m in cli.sms_outbox] == ["S1"]
    cli.advance(600)                                 # the "sweep" process moves time on
    assert status_of(session)[0] == "1"
    cli.configure_merchant(MERCHANT, sms={"code": "9999"})
    authorize(session, "S2", sendDiv="3", telNum="09012345678")
    assert web.sms_code(MERCHANT, "S2") == "9999"
    cli.inject_fault("http500")
    assert session.post("http://sandbox.kuroneko.invalid/kuroneko-atobarai-api/"
                        "KAAST0010APIAction_execute.action",
                        data=basic_form()).status_code == 500
    web.reset()
    assert cli.transactions() == []


def test_sqlite_store_survives_restart(tmp_path):
    path = str(tmp_path / "state.sqlite")
    first = Simulator(store=SqliteStore(path))
    first.set_now(NOW)
    authorize(sandbox_session(first))
    again = Simulator(store=SqliteStore(path))
    assert again.transaction(MERCHANT, "T0001")["current_total"] == 1100


def test_failed_call_leaves_state_untouched(simulator, sandbox_session, monkeypatch):
    from flask_kuroneko.sandbox import operations
    authorize(sandbox_session)

    def boom(*args, **kwargs):
        raise RuntimeError("bug in a handler")

    monkeypatch.setitem(operations.HANDLERS, operations.Operation.CANCEL, boom)
    with pytest.raises(RuntimeError):
        simulator.handle("KAACL0010", basic_form())
    assert simulator.transaction(MERCHANT, "T0001")["status"] == 1


# --------------------------------------------------------------------------- threads

@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_concurrent_calls_are_serialised(tmp_path, store):
    sim = Simulator(store=SqliteStore(str(tmp_path / "s.sqlite")) if store == "sqlite" else None)
    sim.set_now(NOW)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(n):
        try:
            session = sandbox_session(sim)
            for i in range(10):
                # every thread fights for the same orderNo: exactly one may win
                answer = post(session, "KAARA0010", kaara_form("RACE", telNum="0312340000"))
                results.append(answer["returnCode"] + answer["errorCode"])
                authorize(session, f"W{n}-{i}", telNum=f"03{n:04d}{i:04d}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert results.count("0") == 1 and results.count("1kaara009E") == 79
    assert len(sim.transactions()) == 81
    assert len({tx["seq"] for tx in sim.transactions()}) == 81

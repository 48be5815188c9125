"""Sandbox スマホタイプ SMS simulation (spec §3.2, §6.7)."""
from __future__ import annotations

import hashlib

import pytest

from flask_kuroneko.sandbox import MerchantConfig, Simulator, sandbox_session
from test_sandbox_support import MERCHANT, NOW, authorize, basic_form, post, status_of

MOBILE = "09012345678"


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


def sms_order(session, order_no="S1", tel=MOBILE):
    answer = authorize(session, order_no, sendDiv="3", telNum=tel)
    assert answer["result"] == "3"
    return answer


def verify(session, code, order_no="S1"):
    return post(session, "KAASA0020", basic_form(order_no, ninCode=code))


def test_sms_sent_to_outbox(simulator, sandbox_session):
    sms_order(sandbox_session)
    assert simulator.sms_outbox == [{"merchant": MERCHANT, "orderNo": "S1", "telNum": MOBILE,
                                     "code": "1234", "sent_at": "2024-01-01T12:00:00+09:00"}]
    assert simulator.sms_code(MERCHANT, "S1") == "1234"
    assert status_of(sandbox_session, "S1") == ("30", "0")
    assert post(sandbox_session, "KAARS0010", basic_form("S1"))["result"] == "3"


def test_correct_code_approves(simulator, sandbox_session):
    sms_order(sandbox_session)
    assert verify(sandbox_session, "1234")["result"] == "1"
    assert status_of(sandbox_session, "S1") == ("1", "0")
    assert post(sandbox_session, "KAARS0010", basic_form("S1"))["result"] == "0"
    assert verify(sandbox_session, "1234")["result"] == "5"   # nothing awaits a code now


def test_wrong_codes_then_lock(simulator, sandbox_session):
    sms_order(sandbox_session)
    for attempt in range(1, 6):
        assert verify(sandbox_session, "0000")["result"] == "2"
        assert simulator.transaction(MERCHANT, "S1")["sms"]["wrong_attempts"] == attempt
    assert status_of(sandbox_session, "S1")[0] == "31"
    answer = verify(sandbox_session, "1234")
    assert (answer["returnCode"], answer["errorCode"]) == ("1", "kaasa021E")


def test_max_attempts_configurable():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(sms={"max_attempts": 2})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    sms_order(session)
    assert verify(session, "1111")["result"] == "2"
    assert verify(session, "1234")["result"] == "1"   # a wrong try does not burn the code
    sms_order(session, "S2")
    verify(session, "1111", "S2")
    verify(session, "1111", "S2")
    assert verify(session, "1234", "S2")["errorCode"] == "kaasa021E"


def test_expiry_on_clock_advance_reports_3_once_then_5(simulator, sandbox_session):
    sms_order(sandbox_session)
    simulator.advance(180)
    assert verify(sandbox_session, "0000")["result"] == "2"   # still valid at exactly TTL
    simulator.advance(1)
    assert status_of(sandbox_session, "S1")[0] == "31"
    assert verify(sandbox_session, "1234")["result"] == "3"
    assert verify(sandbox_session, "1234")["result"] == "5"
    assert simulator.transaction(MERCHANT, "S1")["sms"]["state"] == "expired_reported"


def test_expiry_is_lazy_on_the_next_call(simulator, sandbox_session):
    sms_order(sandbox_session)
    simulator.set_now(NOW.replace(minute=10))   # no tick: the KAASA call itself expires it
    assert verify(sandbox_session, "1234")["result"] == "3"


def test_expire_sms_back_office(simulator, sandbox_session):
    sms_order(sandbox_session)
    simulator.expire_sms(MERCHANT, "S1")
    assert verify(sandbox_session, "1234")["result"] == "3"


def test_ttl_configurable():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(sms={"ttl_seconds": 600})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    sms_order(session)
    sim.advance(599)
    assert verify(session, "1234")["result"] == "1"


def test_undeliverable_trigger(simulator, sandbox_session):
    sms_order(sandbox_session, tel="09012349944")
    assert simulator.sms_outbox == []
    assert verify(sandbox_session, "1234")["result"] == "4"
    assert verify(sandbox_session, "1234")["result"] == "4"
    simulator.advance(181)
    assert verify(sandbox_session, "1234")["result"] == "3"


@pytest.mark.parametrize("suffix, result", [("9991", "1"), ("9992", "2")])
def test_declined_sms_order_gets_no_sms(simulator, sandbox_session, suffix, result):
    answer = authorize(sandbox_session, "S1", sendDiv="3", telNum="0901234" + suffix)
    assert answer["result"] == result
    assert simulator.sms_outbox == []
    assert verify(sandbox_session, "1234")["result"] == "5"


def test_review_suffix_is_ignored_for_sms_orders(sandbox_session):
    sms_order(sandbox_session, tel="09012349993")
    assert verify(sandbox_session, "1234")["result"] == "1"


def test_normal_order_is_not_awaiting_sms(sandbox_session):
    authorize(sandbox_session, "N1")
    assert verify(sandbox_session, "1234", "N1")["result"] == "5"


def test_no_resend_same_order_no(sandbox_session, simulator):
    sms_order(sandbox_session)
    simulator.advance(181)
    answer = authorize(sandbox_session, "S1", sendDiv="3", telNum=MOBILE)
    assert answer["errorCode"] == "kaara009E"
    sms_order(sandbox_session, "S1-2")
    assert len(simulator.sms_outbox) == 2


def test_derived_code():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(sms={"code": "derived"})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    sms_order(session)
    expected = str(int(hashlib.sha256(f"{MERCHANT}S1".encode()).hexdigest(), 16))[-4:]
    assert sim.sms_code(MERCHANT, "S1") == expected
    assert verify(session, expected)["result"] == "1"


def test_sms_code_over_http(sandbox_session):
    sms_order(sandbox_session)
    base = "http://sandbox.kuroneko.invalid"
    assert sandbox_session.get(f"{base}/_sim/sms/{MERCHANT}/S1").json()["code"] == "1234"
    assert sandbox_session.get(f"{base}/_sim/sms/{MERCHANT}/NOPE").status_code == 404
    outbox = sandbox_session.get(f"{base}/_sim/sms-outbox").json()
    assert [m["orderNo"] for m in outbox] == ["S1"]


def test_smartphone_contract_off():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(contracts={"smartphone": False})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    answer = authorize(session, sendDiv="3", telNum=MOBILE)
    assert answer["errorCode"] == "kaara052E"
    assert verify(session, "1234", "T0001")["errorCode"] == "kaasa004E"

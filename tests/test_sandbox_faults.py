"""Sandbox fault injection through the in-process adapter (the unknown-outcome cases)."""
from __future__ import annotations

import time

import pytest
import requests
import urllib3

from flask_kuroneko.sandbox import SandboxAdapter, sandbox_session
from test_sandbox_support import (MERCHANT, NOW, api_url, authorize, basic_form, kaara_form,
                                  parse, post)


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


def send(session, code="KAARA0010", form=None, timeout=5):
    return session.post(api_url(code), data=form or kaara_form(), timeout=timeout)


def stored(simulator, order_no="T0001"):
    return simulator.transaction(MERCHANT, order_no) is not None


def test_latency_beyond_read_timeout_is_processed_and_times_out_fast(simulator,
                                                                     sandbox_session):
    simulator.inject_fault("latency", seconds=30)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout) as info:
        send(sandbox_session, timeout=(3, 5))
    assert time.monotonic() - started < 1
    assert isinstance(info.value.args[0], urllib3.exceptions.ReadTimeoutError)
    assert stored(simulator)                        # Yamato did it, the answer was lost
    assert parse(send(sandbox_session, "KAAST0010", basic_form()).content)["result"] == "1"


def test_latency_within_timeout_sleeps_and_answers(simulator):
    slept = []
    session = requests.Session()
    session.mount("http://sandbox.kuroneko.invalid/",
                  SandboxAdapter(simulator, sleep=slept.append))
    simulator.inject_fault("latency", seconds=2)
    assert parse(send(session, timeout=5).content)["result"] == "0"
    assert slept == [2.0]


def test_latency_without_timeout_really_sleeps(simulator, sandbox_session):
    simulator.inject_fault("latency", seconds=0.2)
    started = time.monotonic()
    response = sandbox_session.post(api_url("KAARA0010"), data=kaara_form())
    assert time.monotonic() - started >= 0.2
    assert parse(response.content)["result"] == "0"


def test_latency_before_processing_is_not_processed_on_timeout(simulator, sandbox_session):
    simulator.inject_fault("latency", seconds=30, after_processing=False)
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(sandbox_session, timeout=1)
    assert not stored(simulator)


def test_drop_is_processed_then_connection_error(simulator, sandbox_session):
    simulator.inject_fault("drop", operation="KAARA0010")
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        send(sandbox_session)
    assert not isinstance(info.value.args[0], urllib3.exceptions.MaxRetryError)
    assert stored(simulator)


def test_refuse_is_not_processed_and_looks_like_a_refused_connection(simulator,
                                                                     sandbox_session):
    simulator.inject_fault("refuse")
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        send(sandbox_session)
    wrapped = info.value.args[0]
    assert isinstance(wrapped, urllib3.exceptions.MaxRetryError)
    assert isinstance(wrapped.reason, urllib3.exceptions.NewConnectionError)
    assert not isinstance(info.value, requests.exceptions.ConnectTimeout)
    assert not stored(simulator)


def test_http500_is_not_processed(simulator, sandbox_session):
    simulator.inject_fault("http500")
    response = send(sandbox_session)
    assert response.status_code == 500
    assert b"Internal Server Error" in response.content
    assert response.headers["Content-Type"].startswith("text/html")
    assert not stored(simulator)


def test_malformed_is_processed_with_truncated_xml(simulator, sandbox_session):
    simulator.inject_fault("malformed")
    response = send(sandbox_session)
    assert response.status_code == 200
    with pytest.raises(Exception):
        parse(response.content)
    assert stored(simulator)


@pytest.mark.parametrize("code", ["err0001", "err0002", "err0003"])
def test_error_is_not_processed(simulator, sandbox_session, code):
    simulator.inject_fault("error", error_code=code)
    answer = parse(send(sandbox_session).content)
    assert (answer["returnCode"], answer["errorCode"], answer["result"]) == ("1", code, "")
    assert answer["orderNo"] == "T0001"
    assert not stored(simulator)


def test_fault_fires_times_then_stops(simulator, sandbox_session):
    simulator.inject_fault("http500", times=2)
    assert send(sandbox_session).status_code == 500
    assert send(sandbox_session).status_code == 500
    assert parse(send(sandbox_session).content)["result"] == "0"
    assert simulator.faults() == []


def test_permanent_fault_until_cleared(simulator, sandbox_session):
    simulator.inject_fault("http500", times=None)
    for _ in range(3):
        assert send(sandbox_session).status_code == 500
    simulator.clear_faults()
    assert parse(send(sandbox_session).content)["result"] == "0"


def test_fault_matching(simulator, sandbox_session):
    simulator.inject_fault("http500", operation="KAACL0010")
    simulator.inject_fault("error", order_no="X2")
    simulator.inject_fault("refuse", merchant="99999999999")
    assert parse(send(sandbox_session).content)["result"] == "0"            # KAARA T0001
    assert parse(send(sandbox_session, form=kaara_form("X2")).content)["errorCode"] == "err0001"
    assert parse(send(sandbox_session, form=kaara_form("X3")).content)["result"] == "0"
    assert send(sandbox_session, "KAACL0010", basic_form()).status_code == 500
    assert parse(send(sandbox_session, "KAACL0010", basic_form()).content)["returnCode"] == "0"
    assert [f["kind"] for f in simulator.faults()] == ["refuse"]


def test_invalid_fault_definitions(simulator):
    with pytest.raises(ValueError):
        simulator.inject_fault("explode")
    with pytest.raises(ValueError):
        simulator.inject_fault("latency")
    with pytest.raises(ValueError):
        simulator.inject_fault("error", error_code="kaara001E")
    with pytest.raises(ValueError):
        simulator.inject_fault("drop", operation="KAXX0000")


def test_faults_over_http(simulator, sandbox_session):
    base = "http://sandbox.kuroneko.invalid/_sim/faults"
    response = sandbox_session.post(base, json={"kind": "error", "error_code": "err0002",
                                                "operation": "KAAST0010", "times": 1})
    assert response.status_code == 201 and response.json()["id"] >= 1
    assert len(sandbox_session.get(base).json()) == 1
    authorize(sandbox_session)
    assert post(sandbox_session, "KAAST0010", basic_form())["errorCode"] == "err0002"
    sandbox_session.post(base, json={"kind": "http500", "times": None})
    assert sandbox_session.delete(base).json() == {"ok": True}
    assert sandbox_session.get(base).json() == []
    assert sandbox_session.post(base, json={"kind": "nope"}).status_code == 400
    assert sandbox_session.post(base, json={"kind": "drop", "bogus": 1}).status_code == 400


def test_faults_do_not_touch_back_office(simulator, sandbox_session):
    simulator.inject_fault("refuse", times=None)
    assert sandbox_session.get("http://sandbox.kuroneko.invalid/_sim/tx").json() == []


def test_session_with_custom_base_url(simulator):
    session = sandbox_session(simulator, "http://other-sandbox.invalid")
    response = session.post("http://other-sandbox.invalid" +
                            "/kuroneko-atobarai-api/KAARA0010APIAction_execute.action",
                            data=kaara_form())
    assert parse(response.content)["result"] == "0"

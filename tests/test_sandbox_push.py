"""Sandbox push notifications (spec §3.11, §6.9)."""
from __future__ import annotations

import threading

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from flask_kuroneko.sandbox import MerchantConfig, Simulator, sandbox_session
from test_sandbox_support import MERCHANT, NOW, authorize, basic_form, post, status_of

MOBILE = "09012345678"
URL = "https://shop.example.jp/kuroneko/push"


def receiver_app(received: list, status: int = 200) -> Flask:
    """A stand-in for the shop's push endpoint."""
    app = Flask("receiver")

    @app.post("/kuroneko/push")
    def push():
        received.append(request.form.to_dict())
        return "", status

    return app


def make(received, *, status=200, **config):
    app = receiver_app(received, status)
    client = app.test_client()

    def transport(url, data):
        assert url == URL
        return client.post("/kuroneko/push", data=data).status_code

    sim = Simulator(merchants={MERCHANT: MerchantConfig(notify_url=URL, **config)},
                    push_transport=transport)
    sim.set_now(NOW)
    return sim, sandbox_session(sim)


def test_sms_ok_push():
    received = []
    sim, session = make(received)
    authorize(session, sendDiv="3", telNum=MOBILE)
    assert received == []
    post(session, "KAASA0020", basic_form(ninCode="1234"))
    assert received == [{"ycfStrNo": MERCHANT, "juchuNo": "T0001", "keitaiNo": MOBILE,
                         "giftKb": "3", "snsKk": "0", "smsNinKk": "0", "smsYuuKk": ""}]
    log = sim.push_log
    assert len(log) == 1
    assert log[0]["status"] == 200 and log[0]["url"] == URL
    assert log[0]["data"]["giftKb"] == "3"


@pytest.mark.parametrize("how", ["expiry", "lock"])
def test_sms_ng_push(how):
    received = []
    sim, session = make(received, sms={"max_attempts": 1})
    authorize(session, sendDiv="3", telNum=MOBILE)
    if how == "expiry":
        sim.advance(181)
    else:
        post(session, "KAASA0020", basic_form(ninCode="9999"))
    assert received == [{"ycfStrNo": MERCHANT, "juchuNo": "T0001", "keitaiNo": MOBILE,
                         "giftKb": "3", "snsKk": "3", "smsNinKk": "1", "smsYuuKk": ""}]


def test_validity_immediate_ok_push():
    received = []
    sim, session = make(received, contracts={"sms_validity": True})
    assert authorize(session, sendDiv="4", telNum=MOBILE)["result"] == "0"
    assert status_of(session) == ("1", "0")
    assert received == [{"ycfStrNo": MERCHANT, "juchuNo": "T0001", "keitaiNo": MOBILE,
                         "giftKb": "4", "snsKk": "0", "smsNinKk": "", "smsYuuKk": "0"}]


def test_validity_delayed_ok_push():
    received = []
    sim, session = make(received, contracts={"sms_validity": True})
    assert authorize(session, sendDiv="4", telNum="09012349993")["result"] == "3"
    assert received == []
    sim.advance(600)
    assert status_of(session)[0] == "1"
    assert [(r["giftKb"], r["snsKk"], r["smsYuuKk"]) for r in received] == [("4", "0", "0")]


def test_validity_ng_push():
    received = []
    sim, session = make(received, contracts={"sms_validity": True})
    assert authorize(session, sendDiv="4", telNum="09012349944")["result"] == "3"
    sim.advance(600)
    assert status_of(session)[0] == "32"
    assert [(r["giftKb"], r["snsKk"], r["smsNinKk"], r["smsYuuKk"]) for r in received] == [
        ("4", "1", "", "1")]


@pytest.mark.parametrize("suffix", ["9991", "9992"])
def test_validity_decline_sends_no_push(suffix):
    received = []
    sim, session = make(received, contracts={"sms_validity": True})
    authorize(session, sendDiv="4", telNum="0901234" + suffix)
    sim.advance(600)
    assert received == [] and sim.push_log == []


def test_merchant_status_recorded_and_no_retry():
    received = []
    sim, session = make(received, status=503)
    authorize(session, sendDiv="3", telNum=MOBILE)
    post(session, "KAASA0020", basic_form(ninCode="1234"))
    sim.tick()
    assert len(received) == 1
    assert [entry["status"] for entry in sim.push_log] == [503]


def test_transport_failure_recorded():
    def broken(url, data):
        raise ConnectionRefusedError("nobody listens")

    sim = Simulator(merchants={MERCHANT: MerchantConfig(notify_url=URL)},
                    push_transport=broken)
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session, sendDiv="3", telNum=MOBILE)
    assert post(session, "KAASA0020", basic_form(ninCode="1234"))["result"] == "1"
    (entry,) = sim.push_log
    assert entry["status"] is None and "nobody listens" in entry["error"]


def test_no_notify_url_no_push(simulator, sandbox_session):
    authorize(sandbox_session, sendDiv="3", telNum=MOBILE)
    post(sandbox_session, "KAASA0020", basic_form(ninCode="1234"))
    assert simulator.push_log == []


def test_receiver_may_call_the_sandbox_back():
    """Pushes leave after the lock is released: a receiver that asks KAAST must not hang."""
    seen = []
    holder = {}

    def transport(url, data):
        answer = post(holder["session"], "KAAST0010", basic_form(data["juchuNo"]))
        seen.append(answer["result"])
        return 200

    sim = Simulator(merchants={MERCHANT: MerchantConfig(notify_url=URL)},
                    push_transport=transport)
    sim.set_now(NOW)
    holder["session"] = session = sandbox_session(sim)
    authorize(session, sendDiv="3", telNum=MOBILE)
    post(session, "KAASA0020", basic_form(ninCode="1234"))
    assert seen == ["1"]


def test_default_transport_posts_over_http():
    received = []
    server = make_server("127.0.0.1", 0, receiver_app(received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/kuroneko/push"
        sim = Simulator(merchants={MERCHANT: MerchantConfig(notify_url=url)})
        sim.set_now(NOW)
        session = sandbox_session(sim)
        authorize(session, sendDiv="3", telNum=MOBILE)
        post(session, "KAASA0020", basic_form(ninCode="1234"))
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
    assert received and received[0]["juchuNo"] == "T0001" and received[0]["smsNinKk"] == "0"
    assert sim.push_log[0]["status"] == 200


def test_push_log_over_http():
    received = []
    sim, session = make(received)
    authorize(session, sendDiv="3", telNum=MOBILE)
    post(session, "KAASA0020", basic_form(ninCode="1234"))
    log = session.get("http://sandbox.kuroneko.invalid/_sim/push-log").json()
    assert log[0]["data"]["juchuNo"] == "T0001" and log[0]["status"] == 200

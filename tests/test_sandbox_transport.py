"""Sandbox transport (spec §6.2) and response rendering (§6.10), in-process and over a socket."""
from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from flask_kuroneko.yamato.codes import BASE_URLS
from flask_kuroneko.sandbox import MerchantConfig, Simulator, create_app, sandbox_session
from test_sandbox_support import (MERCHANT, NOW, api_url, authorize, basic_form, change_form,
                                  kaara_form, parse, post, slip_no, tags)


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_non_post_is_405_with_empty_body(sandbox_session, method):
    response = sandbox_session.request(method, api_url("KAARA0010"))
    assert response.status_code == 405
    assert response.content == b""


@pytest.mark.parametrize("path", [
    "/kuroneko-atobarai-api/KAAAU0010APIAction_execute.action",
    "/kuroneko-atobarai-api/KAXX0010APIAction_execute.action",
])
def test_unknown_api_is_404(sandbox_session, path):
    response = sandbox_session.post(BASE_URLS["sandbox"] + path, data=basic_form())
    assert response.status_code == 404


def test_unknown_path_is_404(sandbox_session):
    assert sandbox_session.post(BASE_URLS["sandbox"] + "/nothing/here").status_code == 404


def test_content_type_default_and_configurable(simulator):
    response = sandbox_session(simulator).post(api_url("KAAST0010"), data=basic_form())
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    plain = Simulator(content_type="text/plain")
    response = sandbox_session(plain).post(api_url("KAAST0010"), data=basic_form())
    assert response.headers["Content-Type"] == "text/plain"


def test_body_is_utf8_whatever_the_declared_charset(sandbox_session, simulator):
    body = "&".join(f"{k}={requests.utils.quote(v, safe='')}"
                    for k, v in kaara_form().items()).encode("ascii")
    response = sandbox_session.post(api_url("KAARA0010"), data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=Shift_JIS"})
    assert parse(response.content)["result"] == "0"
    assert simulator.transaction(MERCHANT, "T0001")["billing"]["name"] == "山田　太郎"


@pytest.mark.parametrize("body", [b"name=%82%A0&orderNo=X", b"\xff\xfe=1"])
def test_undecodable_body_is_err0001(sandbox_session, simulator, body):
    response = sandbox_session.post(api_url("KAARA0010"), data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    answer = parse(response.content)
    assert (answer["returnCode"], answer["errorCode"]) == ("1", "err0001")
    assert simulator.transactions() == []


def test_success_element_order_and_echo(sandbox_session):
    response = sandbox_session.post(api_url("KAARA0010"), data=kaara_form())
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert tags(response.content) == ["ycfStrCode", "orderNo", "returnCode", "result",
                                      "errorCode", "returnDate", "requestDate"]
    answer = parse(response.content)
    assert answer == {"ycfStrCode": MERCHANT, "orderNo": "T0001", "returnCode": "0",
                      "result": "0", "errorCode": "", "returnDate": "20240101120000",
                      "requestDate": "20240101120000"}


def test_error_has_empty_specific_fields(sandbox_session):
    authorize(sandbox_session)
    response = sandbox_session.post(api_url("KAAST0010"), data=basic_form("NOPE"))
    assert tags(response.content) == ["ycfStrCode", "orderNo", "returnCode", "result",
                                      "warning", "errorCode", "returnDate", "requestDate"]
    answer = parse(response.content)
    assert (answer["result"], answer["warning"], answer["errorCode"]) == ("", "", "kaast008E")


def test_echo_is_empty_when_fields_absent(sandbox_session):
    answer = post(sandbox_session, "KAAST0010", {})
    assert answer["ycfStrCode"] == "" and answer["orderNo"] == ""
    assert answer["errorCode"] == "kaast004E"


def test_request_date_is_echoed_and_return_date_is_sim_now(sandbox_session, simulator):
    authorize(sandbox_session)
    simulator.advance(90)
    answer = post(sandbox_session, "KAAST0010", basic_form(requestDate="20231231235959"))
    assert answer["requestDate"] == "20231231235959"
    assert answer["returnDate"] == "20240101120130"


@pytest.mark.parametrize("setting, expected", [
    ("both", ["returnDate", "requestDate"]),
    ("returnDate", ["returnDate"]),
    ("requestDate", ["requestDate"]),
])
def test_date_fields_setting(setting, expected):
    sim = Simulator(merchants={MERCHANT: MerchantConfig(date_fields=setting)})
    response = sandbox_session(sim).post(api_url("KAARA0010"), data=kaara_form())
    assert tags(response.content)[-len(expected):] == expected
    assert [t for t in tags(response.content) if t.endswith("Date")] == expected


def test_kaarr_request_date_is_sim_now(sandbox_session, simulator):
    authorize(sandbox_session)
    response = sandbox_session.post(api_url("KAARR0010"), data={
        "ycfStrCode": MERCHANT, "orderNo": "T0001", "password": "testpass",
        "requestContents": "3"})
    answer = parse(response.content)
    assert tags(response.content)[3] == "reissueCode"
    assert answer["requestDate"] == "20240101120000"
    assert answer["errorCode"] == "kaarr017E"


def test_escaping_of_echoed_values(sandbox_session):
    response = sandbox_session.post(api_url("KAAST0010"), data=basic_form("<&>"))
    assert parse(response.content)["orderNo"] == "<&>"


# --------------------------------------------------------------------------- real socket

@pytest.fixture
def live_server(simulator):
    app = create_app(simulator)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_standalone_server_over_a_socket(live_server, simulator):
    with requests.Session() as http:
        response = http.post(api_url("KAARA0010", live_server), data=kaara_form(), timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
        assert parse(response.content)["result"] == "0"
        assert http.get(api_url("KAARA0010", live_server), timeout=5).status_code == 405
        assert http.post(live_server + "/kuroneko-atobarai-api/KAAAU0010APIAction_execute"
                         ".action", timeout=5).status_code == 404
        state = http.get(f"{live_server}/_sim/tx/{MERCHANT}/T0001", timeout=5).json()
        assert state["status"] == 1
        page = http.get(live_server + "/", timeout=5)
        assert "T0001" in page.text


def test_standalone_drop_closes_without_response(live_server, simulator):
    simulator.inject_fault("drop", operation="KAARA0010")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(api_url("KAARA0010", live_server), data=kaara_form(), timeout=5)
    assert simulator.transaction(MERCHANT, "T0001")["status"] == 1  # processed


def test_standalone_refuse_closes_without_processing(live_server, simulator):
    simulator.inject_fault("refuse")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(api_url("KAARA0010", live_server), data=kaara_form(), timeout=5)
    assert simulator.transaction(MERCHANT, "T0001") is None


def test_standalone_latency_really_sleeps(live_server, simulator):
    simulator.inject_fault("latency", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(api_url("KAARA0010", live_server), data=kaara_form(), timeout=0.2)
    import time
    time.sleep(1.0)  # let the server finish the slow request
    assert simulator.transaction(MERCHANT, "T0001")["status"] == 1


def test_flask_cli_finds_the_factory(monkeypatch, tmp_path):
    from flask.cli import ScriptInfo
    monkeypatch.setenv("KURONEKO_SANDBOX_STATE", str(tmp_path / "state.sqlite"))
    app = ScriptInfo(app_import_path="flask_kuroneko.sandbox").load_app()
    with app.test_client() as client:
        response = client.post("/kuroneko-atobarai-api/KAARA0010APIAction_execute.action",
                               data=kaara_form())
        assert parse(response.data)["returnCode"] == "0"
    assert (tmp_path / "state.sqlite").exists()


def test_merchant_registry_from_json_file(monkeypatch, tmp_path):
    registry = tmp_path / "merchants.json"
    registry.write_text('{"11111111111": {"password": "shop1pw", "contracts": {"bundle": true}}}',
                        encoding="utf-8")
    monkeypatch.setenv("KURONEKO_SANDBOX_MERCHANTS", str(registry))
    monkeypatch.delenv("KURONEKO_SANDBOX_STATE", raising=False)
    client = create_app().test_client()
    path = "/kuroneko-atobarai-api/KAARA0010APIAction_execute.action"
    answer = parse(client.post(path, data=kaara_form(ycfStrCode="11111111111",
                                                     password="shop1pw", sendDiv="2")).data)
    assert answer["returnCode"] == "0"
    assert parse(client.post(path, data=kaara_form("T2")).data)["errorCode"] == "kaara005E"


def test_api_under_a_base_path(simulator):
    client = create_app(simulator, api_prefix="/yamato/").test_client()
    path = "/kuroneko-atobarai-api/KAARA0010APIAction_execute.action"
    assert client.post(path, data=kaara_form()).status_code == 404
    assert parse(client.post("/yamato" + path, data=kaara_form()).data)["result"] == "0"
    assert client.get("/").status_code == 200


# --------------------------------------------------------------------------- `flask run`

def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def flask_run(tmp_path):
    """The sandbox as a merchant starts it: ``flask --app flask_kuroneko.sandbox run``."""
    import os
    import subprocess
    import sys
    import time
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KURONEKO_SANDBOX_", "FLASK_"))}
    log = tmp_path / "flask-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "flask_kuroneko.sandbox",
                                 "run", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/_sim/clock", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("flask run did not serve the sandbox:\n" + log.read_text("utf-8"))
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_flask_run_serves_the_wire_behaviour(flask_run):
    """Every wire behaviour of the issue's "Must show" list, over a socket, against the real
    ``flask --app flask_kuroneko.sandbox run`` process (default merchant, nothing configured)."""
    with requests.Session() as http:
        def call(code: str, form: dict[str, str]) -> dict[str, str]:
            response = http.post(api_url(code, flask_run), data=form, timeout=10)
            assert response.status_code == 200, response.text
            assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
            return parse(response.content)

        def error(code: str, form: dict[str, str]) -> str:
            answer = call(code, form)
            assert answer["returnCode"] == "1", answer
            return answer["errorCode"]

        def status(order_no: str) -> str:
            return call("KAAST0010", basic_form(order_no))["result"]

        http.post(flask_run + "/_sim/clock", json={"now": "2024-01-01T12:00:00+09:00"},
                  timeout=10).raise_for_status()
        # approve, then status inquiry
        assert call("KAARA0010", kaara_form("T0001"))["result"] == "0"
        assert call("KAAST0010", basic_form("T0001"))["warning"] == "0"
        assert status("T0001") == "1"
        # duplicate orderNo, subtotal mismatch
        assert error("KAARA0010", kaara_form("T0001")) == "kaara009E"
        assert error("KAARA0010", kaara_form("T0002", subTotal1="1000")) == "kaara101E"
        # scenario triggers (last four digits of telNum)
        for suffix, result in (("9991", "1"), ("9992", "2"), ("9993", "3")):
            answer = call("KAARA0010", kaara_form(f"R{suffix}", telNum=f"031234{suffix}"))
            assert (answer["returnCode"], answer["result"]) == ("0", result)
        assert error("KAARA0010", kaara_form("R9990", telNum="0312349990")) == "err0001"
        http.post(flask_run + "/_sim/clock/advance", json={"seconds": 600},
                  timeout=10).raise_for_status()
        assert call("KAARS0010", basic_form("R9993"))["result"] == "0"
        # SMS code flow: the code is in the outbox and on the human page
        assert call("KAARA0010", kaara_form("S0001", sendDiv="3",
                                            telNum="09012345678"))["result"] == "3"
        outbox = http.get(flask_run + "/_sim/sms-outbox", timeout=10).json()
        assert [(sms["orderNo"], sms["code"]) for sms in outbox] == [("S0001", "1234")]
        page = http.get(flask_run + "/", timeout=10).text
        assert "S0001" in page and "1234" in page
        assert call("KAASA0020", basic_form("S0001", ninCode="0000"))["result"] == "2"
        assert call("KAASA0020", basic_form("S0001", ninCode="1234"))["result"] == "1"
        assert status("S0001") == "1"
        # shipment: the seven-check digit is enforced
        good = slip_no(1)
        bad = good[:-1] + str((int(good[-1]) + 1) % 7)
        assert error("KAASL0010", basic_form("T0001", processDiv="0", paymentNo=bad)) == "kaasl014E"
        assert call("KAASL0010", basic_form("T0001", processDiv="0",
                                            paymentNo=good))["returnCode"] == "0"
        assert status("T0001") == "3"
        # amount change
        assert call("KAAKK0010", change_form("T0001", 1000))["returnCode"] == "0"
        assert error("KAAKK0010", change_form("T0001", 1000)) == "kaakk049E"
        # cancel, then what a cancelled order refuses
        assert call("KAACL0010", basic_form("T0001"))["returnCode"] == "0"
        assert status("T0001") == "2"
        assert error("KAASL0010", basic_form("T0001", processDiv="0",
                                             paymentNo=slip_no(2))) == "kaasl020E"
        # anything but POST
        response = http.get(api_url("KAARA0010", flask_run), timeout=10)
        assert (response.status_code, response.content) == (405, b"")

"""The sandbox back office (/_sim) and human page are protected (issue 10): cross-site POSTs
are refused, and only loopback clients under a loopback host name are served unless
``KURONEKO_SANDBOX_ALLOWED_CLIENTS`` opens them. The Yamato API paths stay open."""
from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from flask_kuroneko.sandbox import create_app
from flask_kuroneko.sandbox.guard import ALLOWED_CLIENTS_ENV, parse_allowed_clients
from test_sandbox_support import MERCHANT, NOW, authorize, basic_form, ship

API = "/kuroneko-atobarai-api/KAAST0010APIAction_execute.action"
EVIL = "https://evil.example"


@pytest.fixture(autouse=True)
def state(simulator, sandbox_session, monkeypatch):
    monkeypatch.delenv(ALLOWED_CLIENTS_ENV, raising=False)
    simulator.set_now(NOW)
    authorize(sandbox_session, "A1")
    ship(sandbox_session, "A1")


def client_of(simulator, **kwargs) -> Client:
    return create_app(simulator, **kwargs).test_client()      # REMOTE_ADDR 127.0.0.1


def from_addr(addr: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": addr}}


# --------------------------------------------------------------------------- cross-site POSTs

CROSS_SITE_HEADERS = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},             # a sibling sub-domain is another origin
    {"Origin": EVIL},
    {"Origin": "null"},                          # sandboxed iframe, data: URL
    {"Origin": "http://localhost:8080"},         # another port is another origin
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
]


@pytest.mark.parametrize("headers", CROSS_SITE_HEADERS)
def test_cross_site_posts_to_the_ui_are_refused(simulator, headers):
    client = client_of(simulator)
    for path in (f"/_sim/ui/tx/{MERCHANT}/A1/deliver", "/_sim/ui/reset", "/_sim/ui/clock"):
        response = client.post(path, headers=headers, data={"seconds": "86400"})
        assert response.status_code == 403, path
        assert "別のサイトから送信された操作は受け付けません" in response.get_data(as_text=True)
    assert simulator.transaction(MERCHANT, "A1")["status"] == 3       # nothing happened
    assert simulator.now().isoformat() == "2024-01-01T12:00:00+09:00"


@pytest.mark.parametrize("headers", CROSS_SITE_HEADERS)
def test_cross_site_posts_to_the_back_office_are_refused(simulator, headers):
    client = client_of(simulator)
    for path, body in ((f"/_sim/tx/{MERCHANT}/A1/deliver", {}), ("/_sim/reset", {}),
                       ("/_sim/faults", {"kind": "http500"}),
                       (f"/_sim/merchants/{MERCHANT}", {"password": "stolen1"})):
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 403, path
        assert "別のサイト" in response.get_json()["error"]
    assert client.delete("/_sim/faults", headers=headers).status_code == 403
    assert simulator.transaction(MERCHANT, "A1")["status"] == 3
    assert simulator.faults() == [] and simulator.merchant(MERCHANT).password == "testpass"


@pytest.mark.parametrize("headers", [
    {},                                          # curl, requests, the in-process adapter
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},                  # typed into the address bar
    {"Origin": "http://localhost"},              # an older browser, same origin
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
])
def test_same_origin_and_non_browser_posts_work(simulator, headers):
    client = client_of(simulator)
    response = client.post(f"/_sim/ui/tx/{MERCHANT}/A1/deliver", headers=headers)
    assert response.status_code == 302
    assert simulator.transaction(MERCHANT, "A1")["status"] == 10
    advanced = client.post("/_sim/clock/advance", json={"seconds": 60}, headers=headers)
    assert advanced.status_code == 200


def test_cross_site_reads_are_not_state_changes(simulator):
    client = client_of(simulator)
    assert client.get("/_sim/ui", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_same_origin_post_under_the_example_shop_prefix(simulator):
    shop = Flask("shop")
    mounted = DispatcherMiddleware(shop, {"/_sandbox": create_app(simulator)})
    client = Client(mounted)
    local = {"REMOTE_ADDR": "127.0.0.1"}
    refused = client.post(f"/_sandbox/_sim/ui/tx/{MERCHANT}/A1/deliver", environ_base=local,
                          headers={"Origin": EVIL})
    assert refused.status_code == 403
    done = client.post(f"/_sandbox/_sim/ui/tx/{MERCHANT}/A1/deliver", environ_base=local,
                       headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert done.status_code == 302 and simulator.transaction(MERCHANT, "A1")["status"] == 10


# --------------------------------------------------------------------------- who is served

@pytest.mark.parametrize("path", ["/", "/_sim/ui", "/_sim/tx", f"/_sim/sms/{MERCHANT}/A1",
                                  "/_sim/sms-outbox", "/_sim/merchants", "/_sim/clock"])
def test_other_machines_are_refused_by_default(simulator, path):
    response = client_of(simulator).get(path, **from_addr("192.0.2.10"))
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "127.0.0.1" in text and ALLOWED_CLIENTS_ENV in text and "A1" not in text


def test_other_machines_cannot_post_either(simulator):
    client = client_of(simulator)
    assert client.post("/_sim/reset", **from_addr("192.0.2.10")).status_code == 403
    assert client.post(f"/_sim/ui/tx/{MERCHANT}/A1/deliver",
                       **from_addr("10.0.0.5")).status_code == 403
    assert simulator.transaction(MERCHANT, "A1")["status"] == 3


@pytest.mark.parametrize("addr", ["127.0.0.1", "127.0.1.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_clients_are_served(simulator, addr):
    assert client_of(simulator).get("/_sim/ui", **from_addr(addr)).status_code == 200


@pytest.mark.parametrize("addr", ["", "unix-socket", "::ffff:192.0.2.10", "128.0.0.1"])
def test_unknown_or_foreign_addresses_are_refused(simulator, addr):
    assert client_of(simulator).get("/_sim/ui", **from_addr(addr)).status_code == 403


def test_the_api_itself_stays_open_to_every_client(simulator):
    response = client_of(simulator).post(API, data=basic_form("A1"), **from_addr("192.0.2.10"),
                                         headers={"Origin": EVIL})
    assert response.status_code == 200 and b"<result>3</result>" in response.get_data()


@pytest.mark.parametrize("host,served", [
    ("localhost", True), ("localhost:5001", True), ("127.0.0.1:5000", True),
    ("[::1]:5000", True), ("sandbox.kuroneko.invalid", True), ("app.localhost", True),
    ("evil.example", False), ("evil.example:5001", False), ("localhost.evil.example", False),
    ("192.0.2.10", False),
])
def test_dns_rebinding_host_names_are_refused(simulator, host, served):
    """A page on evil.example whose name is re-pointed at 127.0.0.1 reaches the sandbox
    from a loopback address, but with its own name in the Host header."""
    response = client_of(simulator).get("/_sim/tx", headers={"Host": host})
    assert (response.status_code == 200) is served
    if not served:
        assert "DNSリバインディング" in response.get_json()["error"]


# --------------------------------------------------------------------------- the switch

def test_allowed_clients_opens_to_a_network(simulator):
    client = client_of(simulator, allowed_clients="192.0.2.0/24, loopback")
    assert client.get("/_sim/ui", **from_addr("192.0.2.10"),
                      headers={"Host": "devbox.lan:5001"}).status_code == 200
    assert client.get("/_sim/ui", **from_addr("127.0.0.1")).status_code == 200
    assert client.get("/_sim/ui", **from_addr("198.51.100.7")).status_code == 403
    assert client.post("/_sim/reset", **from_addr("192.0.2.10"),
                       headers={"Origin": EVIL}).status_code == 403     # still no cross-site


def test_the_environment_variable_is_the_default(simulator, monkeypatch):
    monkeypatch.setenv(ALLOWED_CLIENTS_ENV, "any")
    client = client_of(simulator)
    assert client.get("/_sim/ui", **from_addr("203.0.113.9"),
                      headers={"Host": "sandbox.example.jp"}).status_code == 200
    closed = client_of(simulator, allowed_clients="loopback")          # the argument wins
    assert closed.get("/_sim/ui", **from_addr("203.0.113.9")).status_code == 403


def test_the_in_process_adapter_keeps_working(simulator, sandbox_session):
    base = "http://sandbox.kuroneko.invalid/_sim"
    assert sandbox_session.post(f"{base}/tx/{MERCHANT}/A1/deliver").json()["status"] == 10
    assert sandbox_session.get(f"{base}/sms-outbox").status_code == 200


@pytest.mark.parametrize("value", ["everyone", "192.0.2.0/33", "localhost", "10.0.0.0/8;x"])
def test_a_bad_setting_fails_at_startup_with_the_fix(simulator, value, monkeypatch):
    with pytest.raises(ValueError, match=ALLOWED_CLIENTS_ENV):
        create_app(simulator, allowed_clients=value)
    monkeypatch.setenv(ALLOWED_CLIENTS_ENV, value)
    with pytest.raises(ValueError, match="loopback"):
        create_app(simulator)


def test_parse_allowed_clients():
    assert parse_allowed_clients(None).loopback_only
    assert parse_allowed_clients("").loopback_only
    assert parse_allowed_clients(" loopback ").loopback_only
    assert parse_allowed_clients("*").networks is None
    opened = parse_allowed_clients(["10.1.2.3", "loopback"])
    assert not opened.loopback_only and len(opened.networks) == 3

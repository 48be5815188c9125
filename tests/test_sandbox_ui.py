"""Sandbox human page (``/`` and ``/_sim/ui``), also mounted under a URL prefix."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from flask_kuroneko.sandbox import create_app
from test_sandbox_support import MERCHANT, NOW, authorize, ship, slip_no


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


@pytest.fixture
def page_client(simulator):
    return create_app(simulator).test_client()


def test_empty_page(page_client):
    html = page_client.get("/").get_data(as_text=True)
    assert "クロネコ代金後払い サンドボックス" in html
    assert "取引はまだありません。" in html and "送信されたSMSはありません。" in html
    assert "2024-01-01 12:00:00" in html


def test_page_lists_transactions_and_outbox(page_client, sandbox_session):
    authorize(sandbox_session, "A1", totalAmount="12345", subTotal1="12345")
    ship(sandbox_session, "A1")
    authorize(sandbox_session, "S1", sendDiv="3", telNum="090-1234-5678")
    html = page_client.get("/_sim/ui").get_data(as_text=True)
    table = html[html.index('id="transactions"'):]
    assert "A1" in table and "送り状番号登録済み" in table and "ご利用可" in table
    assert "12,345円" in table and slip_no(1) in table
    assert "審査中 (30)" in table
    outbox = html[html.index('id="sms-outbox"'):html.index('id="transactions"')]
    assert "*******5678" in outbox and "09012345678" not in html and "090-1234-5678" not in html
    assert ">1234<" in outbox and "S1" in outbox
    assert "testpass" not in html


def test_buttons_follow_the_status(page_client, sandbox_session):
    authorize(sandbox_session, "A1")
    ship(sandbox_session, "A1")
    authorize(sandbox_session, "R1", telNum="0312349993")
    html = page_client.get("/").get_data(as_text=True)
    row_a1 = re.search(r"<tr>\s*<td>12345678901</td>\s*<td><a[^>]*>A1</a>.*?</tr>", html, re.S)
    assert "配達完了" in row_a1.group(0) and "入金" not in row_a1.group(0)
    row_r1 = re.search(r"<tr>\s*<td>12345678901</td>\s*<td><a[^>]*>R1</a>.*?</tr>", html, re.S)
    assert "審査結果" in row_r1.group(0) and "配達完了" not in row_r1.group(0)


def test_action_buttons_change_state(page_client, simulator, sandbox_session):
    authorize(sandbox_session, "A1")
    ship(sandbox_session, "A1")
    response = page_client.post(f"/_sim/ui/tx/{MERCHANT}/A1/deliver")
    assert response.status_code == 302
    assert simulator.transaction(MERCHANT, "A1")["status"] == 10
    html = page_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A1: 配達完了を実行しました。" in html
    page_client.post(f"/_sim/ui/tx/{MERCHANT}/A1/invoice")
    page_client.post(f"/_sim/ui/tx/{MERCHANT}/A1/pay")
    assert simulator.transaction(MERCHANT, "A1")["status"] == 12
    authorize(sandbox_session, "R1", telNum="0312349993")
    page_client.post(f"/_sim/ui/tx/{MERCHANT}/R1/resolve-review", data={"result": "1"})
    assert simulator.transaction(MERCHANT, "R1")["status"] == 32
    response = page_client.post(f"/_sim/ui/tx/{MERCHANT}/R1/pay", follow_redirects=True)
    assert "請求書発行済みの取引だけを入金済みにできます。" in response.get_data(as_text=True)


def test_clock_and_reset_buttons(page_client, simulator, sandbox_session):
    page_client.post("/_sim/ui/clock", data={"seconds": "86400"})
    assert simulator.now().isoformat() == "2024-01-02T12:00:00+09:00"
    authorize(sandbox_session, orderYmd="20240102", shipYmd="20240103")
    page_client.post("/_sim/ui/reset")
    assert simulator.transactions() == []


def test_auto_refresh_is_optional(page_client):
    assert 'http-equiv="refresh"' not in page_client.get("/").get_data(as_text=True)
    html = page_client.get("/?refresh=5").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="5">' in html


def test_page_under_a_url_prefix(simulator, sandbox_session):
    shop = Flask("shop")
    shop.add_url_rule("/", "home", lambda: "shop home")
    mounted = DispatcherMiddleware(shop, {"/_sandbox": create_app(simulator)})
    client = Client(mounted)
    local = {"environ_base": {"REMOTE_ADDR": "127.0.0.1"}}   # as a real server sets it
    authorize(sandbox_session, "A1")
    ship(sandbox_session, "A1")
    html = client.get("/_sandbox/", **local).get_data(as_text=True)
    actions = re.findall(r'action="([^"]+)"', html)
    links = re.findall(r'href="([^"]+)"', html)
    assert actions and all(a.startswith("/_sandbox/_sim/") for a in actions)
    assert links and all(h.startswith("/_sandbox/") for h in links)
    response = client.post(f"/_sandbox/_sim/ui/tx/{MERCHANT}/A1/deliver", **local)
    assert response.headers["Location"].startswith("/_sandbox/")
    assert simulator.transaction(MERCHANT, "A1")["status"] == 10
    api = client.post("/_sandbox/kuroneko-atobarai-api/KAAST0010APIAction_execute.action",
                      data={"ycfStrCode": MERCHANT, "orderNo": "A1",
                            "requestDate": "20240101120000", "password": "testpass"})
    assert b"<result>10</result>" in api.get_data()
    assert client.get("/").get_data(as_text=True) == "shop home"

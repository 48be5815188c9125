"""The 受注日 Yamato receives: aware datetimes are converted to Japan time; naive ones are read
in KURONEKO_TIMEZONE, or as Japan time with a logged warning (docs/integration.md, 'Dates and
times'). Through the real checkout: start_payment → the sandbox's stored orderYmd."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from flask_kuroneko import ConfigurationError, rules
from hosts import simple_shop
from service_support import tx

JUST_AFTER_MIDNIGHT_JST_IN_UTC = datetime(2026, 3, 1, 15, 30)     # 2026-03-02 00:30 JST


def test_an_aware_datetime_is_converted_to_japan_time(app, db):
    aware = JUST_AFTER_MIDNIGHT_JST_IN_UTC.replace(tzinfo=timezone.utc)
    assert rules.jst_date(aware).isoformat() == "2026-03-02"


@pytest.mark.parametrize("app_config", [{"KURONEKO_TIMEZONE": "UTC"}])
def test_a_naive_datetime_is_read_in_the_configured_zone(app, db, app_config, caplog):
    with caplog.at_level(logging.WARNING, logger="flask_kuroneko.rules"):
        assert rules.jst_date(JUST_AFTER_MIDNIGHT_JST_IN_UTC).isoformat() == "2026-03-02"
    assert "naive" not in caplog.text


def test_a_naive_datetime_without_a_zone_is_japan_time_and_warned_once(app, db, caplog,
                                                                      monkeypatch):
    monkeypatch.setattr(rules, "_naive_warned", set())
    with caplog.at_level(logging.WARNING, logger="flask_kuroneko.rules"):
        assert rules.jst_date(JUST_AFTER_MIDNIGHT_JST_IN_UTC).isoformat() == "2026-03-01"
        rules.jst_date(JUST_AFTER_MIDNIGHT_JST_IN_UTC)
    warnings = [r for r in caplog.records if "naive" in r.getMessage()]
    assert len(warnings) == 1 and "KURONEKO_TIMEZONE" in warnings[0].getMessage()


def _half_past_midnight_in_japan_as_naive_utc() -> datetime:
    """Today 00:30 in Japan, written as a UTC shop stores it (naive): still yesterday in UTC."""
    jst = timezone(timedelta(hours=9))
    today = datetime.now(jst).replace(hour=0, minute=30, second=0, microsecond=0)
    return today.astimezone(timezone.utc).replace(tzinfo=None)


def _sent_order_date(kuroneko, shop, simulator) -> str:
    order = simple_shop.make_order(delivery_method_id=shop["yamato_delivery"])
    order.placed_at = _half_past_midnight_in_japan_as_naive_utc()
    simple_shop.db.session.flush()
    outcome = kuroneko.start_payment(order, shop["invoice"])
    assert outcome.kind == "authorized", outcome.message
    return tx(simulator, outcome.payment.order_no)["orderYmd"]


@pytest.mark.parametrize("app_config", [{"KURONEKO_TIMEZONE": "UTC"}])
def test_a_utc_shop_sends_japans_date(app, kuroneko, shop, simulator, app_config):
    """A UTC shop's order placed at 00:30 JST is sent with Japan's date, not the day before."""
    today_jst = datetime.now(timezone(timedelta(hours=9))).strftime("%Y%m%d")
    assert _sent_order_date(kuroneko, shop, simulator) == today_jst


def test_without_the_setting_the_same_naive_value_is_read_as_japan_time(app, kuroneko, shop,
                                                                       simulator):
    """The documented default (and why the warning exists): the UTC wall time is taken as
    Japan time, which is the previous day here."""
    yesterday_jst = (datetime.now(timezone(timedelta(hours=9))) - timedelta(days=1)
                     ).strftime("%Y%m%d")
    assert _sent_order_date(kuroneko, shop, simulator) == yesterday_jst


def test_a_misspelt_zone_fails_at_init_app(database_url):
    with pytest.raises(ConfigurationError, match="KURONEKO_TIMEZONE='Asia/Tokio'"):
        simple_shop.create_app(database_url, KURONEKO_TIMEZONE="Asia/Tokio")

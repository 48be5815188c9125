"""Settings M1–M7: DB row, app.config override and lock, validation, password never shown."""
from __future__ import annotations

import logging

import pytest

from flask_kuroneko import ConfigurationError, SettingsError
from flask_kuroneko.settings import (FRESH_DEFAULTS, as_public_dict, effective_settings, load_row,
                                     save_settings)


def test_fresh_install_uses_defaults_without_writing(kuroneko):
    current = effective_settings()
    assert current.environment == "sandbox"
    assert current.ship_within_days == 10
    assert current.credit_limit == 55000
    assert current.fee_for(5000) == 0                     # blank fee = none (M7)
    assert current.locked == frozenset({"environment"})    # the test host pins the sandbox
    assert load_row() is None


def test_save_and_read_back(kuroneko):
    saved = save_settings({"merchant_code": "12345678901", "password": "secret12",
                           "ship_within_days": "7", "fee_mode": "tiered",
                           "fee_tiers": "3000,200\n*,400", "yamato_delivery_method_ids": [2, "1"],
                           "other_carrier_enabled": True})
    assert saved.merchant_code == "12345678901" and saved.password == "secret12"
    assert saved.ship_within_days == 7
    assert saved.fee_tiers == ((3000, 200), (None, 400))
    assert saved.fee_for(3000) == 200 and saved.fee_for(3001) == 400
    assert saved.yamato_delivery_method_ids == ("1", "2")
    assert saved.is_yamato_delivery("2") and not saved.is_yamato_delivery(None)
    kuroneko.state.db.session.expire_all()
    assert effective_settings() == saved


def test_blank_password_keeps_the_stored_one(kuroneko):
    save_settings({"password": "abc123"})
    save_settings({"password": "", "merchant_code": "12345678901"})
    assert effective_settings().password == "abc123"


@pytest.mark.parametrize("changes, field, message", [
    ({"merchant_code": "1234567890"}, "merchant_code", "11桁の半角数字"),
    ({"password": "パスワード"}, "password", "8文字以内の半角英数字"),
    ({"password": "123456789"}, "password", "8文字以内"),
    ({"environment": "live"}, "environment", "本番環境"),
    ({"ship_within_days": 91}, "ship_within_days", "0〜90"),
    ({"ship_within_days": "x"}, "ship_within_days", "半角数字"),
    ({"fee_mode": "percent"}, "fee_mode", "固定額"),
    ({"fee_fixed": -5}, "fee_fixed", "手数料（固定額）は0〜99,999"),
    ({"fee_tiers": "1000,100\n500,50"}, "fee_tiers", "2行目"),
    ({"credit_limit": 1_000_000}, "credit_limit", "1〜999,999"),
    ({"smartphone_enabled": "yes"}, "smartphone_enabled", "選んでください"),
])
def test_invalid_values_name_the_field(kuroneko, changes, field, message):
    with pytest.raises(SettingsError) as info:
        save_settings(changes)
    assert info.value.field == field
    assert message in info.value.message


def test_unknown_field_is_a_programming_error(kuroneko):
    with pytest.raises(ConfigurationError, match="Unknown settings field"):
        save_settings({"merchantcode": "1"})


class TestPinnedByConfig:
    @pytest.fixture
    def app_config(self):
        return {"KURONEKO_MERCHANT_CODE": "99999999999", "KURONEKO_PASSWORD": "cfgpass",
                "KURONEKO_FEE_FIXED": 300, "KURONEKO_SMARTPHONE": True}

    def test_config_overrides_and_locks(self, kuroneko):
        save_settings({"credit_limit": 30000})
        load_row().fee_fixed = 100                           # a value stored before the pin
        kuroneko.state.db.session.commit()
        current = effective_settings()
        assert current.merchant_code == "99999999999" and current.password == "cfgpass"
        assert current.fee_for(1000) == 300                  # config wins over the row
        assert current.credit_limit == 30000                 # not pinned: the row
        assert current.smartphone_enabled is True
        assert {"merchant_code", "password", "fee_fixed", "smartphone_enabled"} <= current.locked
        assert not current.is_locked("credit_limit")
        with pytest.raises(SettingsError) as info:
            save_settings({"merchant_code": "12345678901"})
        assert info.value.field == "merchant_code"
        assert "KURONEKO_MERCHANT_CODE" in info.value.message
        # Re-submitting the pinned value (a read-only form field) is accepted and ignored.
        save_settings({"merchant_code": "99999999999", "credit_limit": 40000})
        assert effective_settings().credit_limit == 40000
        assert load_row().merchant_code == ""                # the DB keeps its own value


    def test_password_never_in_repr_logs_or_public_dict(self, kuroneko, caplog):
        caplog.set_level(logging.DEBUG)
        save_settings({"credit_limit": 20000})
        current = effective_settings()
        assert "cfgpass" not in repr(current)
        assert "cfgpass" not in repr(load_row())
        assert as_public_dict(current)["password"] == "********"
        assert "cfgpass" not in str(as_public_dict(current))
        assert "cfgpass" not in caplog.text


def test_missing_tables_name_the_fix(database_url):
    """A host that forgot `flask kuroneko init-db` / create_all / its migration is told so."""
    from hosts import simple_shop
    app = simple_shop.create_app(database_url)
    with app.app_context():
        try:
            with pytest.raises(ConfigurationError) as info:
                effective_settings()
            assert "kuroneko_* tables do not exist" in str(info.value)
            assert "flask kuroneko init-db" in str(info.value)
        finally:
            simple_shop.db.session.remove()
            simple_shop.db.engine.dispose()


def test_column_defaults_agree_with_the_fresh_install(kuroneko):
    """A settings row created by any code path starts as a fresh install (sandbox, never test)."""
    columns = kuroneko.models.Settings.__table__.c
    for name, value in FRESH_DEFAULTS.items():
        default = columns[name].default
        if default is None:
            assert value is None, name
        elif default.is_scalar:
            assert default.arg == value, name

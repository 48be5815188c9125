"""KURONEKO_* configuration: defaults, strict accessor, refused keys and values."""
from __future__ import annotations

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import ConfigurationError, Kuroneko, config


def _app(tmp_path, **cfg) -> tuple[Flask, SQLAlchemy]:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'c.sqlite'}", **cfg)
    db = SQLAlchemy()
    db.init_app(app)
    return app, db


def test_defaults_are_applied_with_setdefault(tmp_path):
    app, db = _app(tmp_path, KURONEKO_TIMEOUT=30)
    Kuroneko(app, db)
    assert app.config["KURONEKO_TIMEOUT"] == 30                      # host value kept
    assert app.config["KURONEKO_ADMIN_URL_PREFIX"] == "/admin/kuroneko"
    assert app.config["KURONEKO_CHECKOUT_URL_PREFIX"] == "/kuroneko"
    assert app.config["KURONEKO_SMS_WINDOW_MINUTES"] == 30
    assert app.config["KURONEKO_SHIPPED_STATUSES"] == ("発送済み",)
    assert app.config["KURONEKO_ENVIRONMENT"] is None                 # -> the admin setting
    assert all(f"KURONEKO_{k}" in app.config for k in config.DEFAULTS)


def test_strict_accessor(tmp_path):
    app, db = _app(tmp_path, KURONEKO_STATUS_TIMEOUT=3)
    Kuroneko(app, db)
    with app.app_context():
        assert config.get("STATUS_TIMEOUT") == 3
        assert config.get("KURONEKO_STATUS_TIMEOUT") == 3
        with pytest.raises(ConfigurationError, match="Unknown configuration key KURONEKO_TIMEOUTS"):
            config.get("TIMEOUTS")


def test_unknown_key_in_app_config_is_refused(tmp_path):
    app, db = _app(tmp_path, KURONEKO_MERCHANTCODE="12345678901")
    with pytest.raises(ConfigurationError) as info:
        Kuroneko(app, db)
    assert "KURONEKO_MERCHANTCODE" in str(info.value)
    assert "KURONEKO_MERCHANT_CODE" in str(info.value)    # the list of known keys helps
    assert "kuroneko" not in app.extensions


@pytest.mark.parametrize("cfg, message", [
    ({"KURONEKO_ENVIRONMENT": "staging"}, "KURONEKO_ENVIRONMENT='staging' is not valid"),
    ({"KURONEKO_TIMEOUT": 0}, "KURONEKO_TIMEOUT must be a positive number"),
    ({"KURONEKO_STATUS_TIMEOUT": "5"}, "KURONEKO_STATUS_TIMEOUT must be a positive number"),
    ({"KURONEKO_BULK_CONCURRENCY": 0}, "KURONEKO_BULK_CONCURRENCY must be a positive integer"),
    ({"KURONEKO_SMS_WINDOW_MINUTES": True}, "KURONEKO_SMS_WINDOW_MINUTES must be a positive integer"),
    ({"KURONEKO_SHIPPED_STATUSES": "発送済み"}, "not a single string"),
    ({"KURONEKO_SHIPPED_STATUSES": None}, "KURONEKO_SHIPPED_STATUSES must be a list or tuple"),
    ({"KURONEKO_CANCELLED_STATUSES": [3, 4]}, "KURONEKO_CANCELLED_STATUSES must be a list or tuple"),
    ({"KURONEKO_SHIPPED_STATUSES": ("done",), "KURONEKO_CANCELLED_STATUSES": ("done", "void")},
     "done is listed in both KURONEKO_SHIPPED_STATUSES and KURONEKO_CANCELLED_STATUSES"),
    ({"KURONEKO_CHECKOUT_URL_PREFIX": "pay"}, "KURONEKO_CHECKOUT_URL_PREFIX must be a path"),
    ({"KURONEKO_SWEEP_INTERVAL": 0.5}, "KURONEKO_SWEEP_INTERVAL must be a positive integer"),
    ({"KURONEKO_ADMIN_URL_PREFIX": "admin"}, "KURONEKO_ADMIN_URL_PREFIX must be a path"),
    ({"KURONEKO_SANDBOX_URL": "http://x", "KURONEKO_SANDBOX_STATE": "/tmp/x"}, "Set only one of"),
    ({"KURONEKO_MERCHANT_CODE": "123"}, "KURONEKO_MERCHANT_CODE has an invalid value: 加盟店コードは11桁"),
    ({"KURONEKO_FEE_TIERS": [[None, 1], [3, 2]]}, "KURONEKO_FEE_TIERS has an invalid value"),
    ({"KURONEKO_CREDIT_LIMIT": 0}, "KURONEKO_CREDIT_LIMIT has an invalid value"),
    ({"KURONEKO_NOTIFY_SECRET": "guessable"}, "KURONEKO_NOTIFY_SECRET must be a random string"),
    ({"KURONEKO_NOTIFY_SECRET": "a/" * 12}, "KURONEKO_NOTIFY_SECRET must be a random string"),
    ({"KURONEKO_NOTIFY_SECRET": 1234567890123456789}, "KURONEKO_NOTIFY_SECRET must be a random"),
])
def test_invalid_values_are_refused_at_init(tmp_path, cfg, message):
    app, db = _app(tmp_path, **cfg)
    with pytest.raises(ConfigurationError) as info:
        Kuroneko(app, db)
    assert message in str(info.value)


def test_invalid_password_override_does_not_echo_the_password(tmp_path):
    app, db = _app(tmp_path, KURONEKO_PASSWORD="bad pass!secret")
    with pytest.raises(ConfigurationError) as info:
        Kuroneko(app, db)
    assert "KURONEKO_PASSWORD" in str(info.value)
    assert "secret" not in str(info.value)


def test_every_key_is_documented():
    from pathlib import Path
    doc = (Path(__file__).parent.parent / "docs" / "integration.md").read_text(encoding="utf-8")
    missing = [k for k in config.DEFAULTS if f"`{k}`" not in doc]
    assert missing == []

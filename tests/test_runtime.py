"""The per-app runtime: the settings are read once per request (and forgotten when saved), and
every Yamato call of an app goes through one pooled HTTP session (keep-alive)."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko.settings import save_settings
from flask_kuroneko.state import current_state


class SettingsReads:
    """Counts the SELECTs of the settings row (a listener on the engine, nothing replaced)."""

    def __init__(self, engine):
        self.count = 0
        self.engine = engine
        sa.event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "kuroneko_settings" in statement:
            self.count += 1

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self.seen)


def test_settings_are_read_once_per_request_and_forgotten_when_saved(app, db):
    reads = SettingsReads(db.engine)
    try:
        with app.test_request_context("/"):
            state = current_state()
            for _ in range(30):
                state.settings()
            assert reads.count == 1
            save_settings({"ship_within_days": 7})
            assert state.settings().ship_within_days == 7      # not the value read before
        before = reads.count
        with app.test_request_context("/"):
            for _ in range(5):
                current_state().settings()
        assert reads.count == before + 1
    finally:
        reads.close()


def test_outside_a_request_every_call_reads_the_row(app, db):
    """A long-running worker must see the admin's change at its next step."""
    state = current_state()
    save_settings({"ship_within_days": 10})
    assert state.settings().ship_within_days == 10
    db.session.execute(sa.update(state.models.Settings).values(ship_within_days=5))
    db.session.commit()
    assert state.settings().ship_within_days == 5


def test_one_pooled_http_session_per_app(app, db):
    state = current_state()
    assert state.client().session is state.client().session is state.status_client().session


def test_production_clients_share_one_session():
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from flask_kuroneko import Kuroneko

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", KURONEKO_ENVIRONMENT="production",
                      KURONEKO_MERCHANT_CODE="12345678901", KURONEKO_PASSWORD="secretpw")
    db = SQLAlchemy()
    db.init_app(app)
    kuroneko = Kuroneko(app, db)
    with app.app_context():
        kuroneko.upgrade_db()
        state = current_state()
        first, second = state.client(), state.status_client()
        assert first.session is second.session
        assert first.base_url.startswith("https://atobarai.kuronekoyamato.co.jp")


def test_one_checkout_reads_the_settings_at_most_once_per_request(tmp_path):
    from example_shop import create_app
    from example_shop.testing import ShopDriver

    shop = create_app({"SECRET_KEY": "t", "SHOP_SANDBOX_MOUNT": None, "SHOP_SHARED_SANDBOX": False,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite'}"})
    from example_shop.extensions import db
    with shop.app_context():
        engine = db.engine
    driver = ShopDriver(shop.test_client())
    requests_made = []
    reads = SettingsReads(engine)
    shop.before_request(lambda: requests_made.append(1))
    try:
        response = driver.buy("invoice", phone="0311112222")
        driver.get(response.location)
    finally:
        reads.close()
    assert reads.count <= len(requests_made), (reads.count, len(requests_made))

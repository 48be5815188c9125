"""The example shop's fixtures for the tests of this folder (the shop end to end through the
real extension, service, client and in-process sandbox): ``shop`` here is the example shop's
Flask app (it overrides the service tests' ``shop`` of tests/conftest.py), ``shop_config`` its
extra config (override it in a module), ``driver`` a browser-like client."""
from __future__ import annotations

import pytest

from example_shop.testing import ShopDriver
from schema_support import drop_tables


@pytest.fixture
def shop_config() -> dict:
    return {}


@pytest.fixture
def shop(database_url, simulator, shop_config):
    from example_shop import create_app, db
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": database_url, "SHOP_SIMULATOR": simulator,
                      "SHOP_SANDBOX_MOUNT": None, **shop_config})
    yield app
    with app.app_context():
        drop_tables(db)


@pytest.fixture
def driver(shop) -> ShopDriver:
    return ShopDriver(shop.test_client())

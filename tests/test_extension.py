"""Kuroneko object: init_app rules, host hooks and their error messages, several apps,
per-app client/simulator, admin closed without a guard, inbound signal dispatch."""
from __future__ import annotations

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import ApiError, ConfigurationError, Kuroneko, current_state
from flask_kuroneko.hooks import HOOK_CONTRACTS
from flask_kuroneko.runtime import KuronekoState
from schema_support import create_tables


def _app(tmp_path, name="a", **cfg) -> tuple[Flask, SQLAlchemy]:
    app = Flask(name)
    app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / (name + '.sqlite')}", **cfg)
    db = SQLAlchemy()
    db.init_app(app)
    return app, db


# --------------------------------------------------------------------------- init_app


def test_state_lives_in_app_extensions(tmp_path):
    app, db = _app(tmp_path)
    ext = Kuroneko()
    ext.init_app(app, db)
    state = app.extensions["kuroneko"]
    assert isinstance(state, KuronekoState) and state.extension is ext and state.db is db
    assert not any(isinstance(v, Flask) for v in vars(ext).values())     # app never stored
    assert state.models.Payment.__tablename__ == "kuroneko_payments"
    assert "kuroneko" in app.cli.commands


def test_double_init_is_refused_with_a_fix(tmp_path):
    app, db = _app(tmp_path)
    ext = Kuroneko(app, db)
    with pytest.raises(ConfigurationError) as info:
        ext.init_app(app, db)
    assert "already initialised" in str(info.value) and "call init_app once per app" in str(info.value)
    with pytest.raises(ConfigurationError, match="already initialised"):
        Kuroneko().init_app(app, db)


def test_db_is_required(tmp_path):
    app, _ = _app(tmp_path)
    with pytest.raises(ConfigurationError, match=r"init_app\(app, db\)"):
        Kuroneko().init_app(app)


def test_db_must_be_initialised_first(tmp_path):
    app = Flask("x")
    with pytest.raises(ConfigurationError, match=r"call db.init_app\(app\) before"):
        Kuroneko().init_app(app, SQLAlchemy())


def test_db_given_to_constructor_is_used(tmp_path):
    app, db = _app(tmp_path)
    ext = Kuroneko(db=db)
    assert ext.models.Settings.__tablename__ == "kuroneko_settings"   # no app context needed
    ext.init_app(app)
    assert app.extensions["kuroneko"].db is db


def test_not_initialised_app_says_what_to_do(tmp_path):
    app, _ = _app(tmp_path)
    with app.app_context(), pytest.raises(ConfigurationError, match="kuroneko.init_app"):
        current_state()
    with pytest.raises(ConfigurationError, match="app context"):
        Kuroneko().models


# --------------------------------------------------------------------------- hooks


@pytest.mark.parametrize("hook, call", [
    ("order_loader", lambda s: s.load_order(1)),
    ("order_describer", lambda s: s.describe(object())),
    ("delivery_methods_loader", lambda s: s.delivery_methods()),
    ("shipment_recorder", lambda s: s.record_shipment(object(), "クロネコヤマト", "1")),
    ("order_restorer", lambda s: s.restore_order({}, None)),
])
def test_missing_hook_names_the_decorator(tmp_path, hook, call):
    app, db = _app(tmp_path)
    Kuroneko(app, db)
    with app.app_context():
        with pytest.raises(ConfigurationError) as info:
            call(current_state())
    message = str(info.value)
    assert f"@kuroneko.{hook}" in message
    assert HOOK_CONTRACTS[hook] in message


def test_hooks_are_decorators_returning_the_function(tmp_path):
    ext = Kuroneko()

    @ext.order_loader
    def loader(order_id):
        return {"id": order_id}

    assert loader("7") == {"id": "7"}                        # still the host's function
    app, db = _app(tmp_path)
    ext.init_app(app, db)
    with app.app_context():
        assert current_state().load_order(7) == {"id": "7"}   # ids are passed as str
    with pytest.raises(ConfigurationError, match="must decorate a function"):
        ext.order_describer("not callable")


def test_describer_must_return_order_data(tmp_path):
    ext = Kuroneko()
    ext.order_describer(lambda order: {"total": 1})
    ext.delivery_methods_loader(lambda: [1, 2])
    ext.order_restorer(lambda snapshot, placed_at: None)
    app, db = _app(tmp_path)
    ext.init_app(app, db)
    with app.app_context():
        state = current_state()
        with pytest.raises(ConfigurationError, match="order_describer returned dict; it must return a flask_kuroneko.OrderData"):
            state.describe(object())
        with pytest.raises(ConfigurationError, match="list of \\(id, name\\) pairs"):
            state.delivery_methods()
        with pytest.raises(ConfigurationError, match="order_restorer returned None"):
            state.restore_order({}, None)


def test_admin_is_closed_without_guard(tmp_path, caplog):
    app, db = _app(tmp_path)
    ext = Kuroneko(app, db)
    with app.test_request_context():
        response = current_state().check_admin()
        assert response.status_code == 403
        assert "@kuroneko.admin_guard" in response.get_data(as_text=True)
    assert "@kuroneko.admin_guard" in caplog.text
    ext.admin_guard(lambda: None)
    with app.test_request_context():
        assert current_state().check_admin() is None


# --------------------------------------------------------------------------- several apps


def test_two_apps_one_extension_different_config(tmp_path, simulator):
    ext = Kuroneko()
    ext.delivery_methods_loader(lambda: [("1", "宅急便")])
    app_a, db_a = _app(tmp_path, "a", KURONEKO_ENVIRONMENT="sandbox", KURONEKO_FEE_FIXED=100)
    app_b, db_b = _app(tmp_path, "b", KURONEKO_ENVIRONMENT="test", KURONEKO_FEE_FIXED=300,
                       KURONEKO_MERCHANT_CODE="22222222222", KURONEKO_PASSWORD="bpass",
                       KURONEKO_TIMEOUT=7)
    ext.init_app(app_a, db_a)
    ext.init_app(app_b, db_b)
    with app_a.app_context():
        create_tables(db_a)
        assert ext.settings().fee_for(1000) == 100
        client_a = ext.client()
        assert client_a.base_url == "http://sandbox.kuroneko.invalid"
        assert ext.simulator is not None
        assert current_state().delivery_methods() == [("1", "宅急便")]   # hooks shared
    with app_b.app_context():
        create_tables(db_b)
        assert ext.settings().fee_for(1000) == 300
        client_b = ext.client()
        assert client_b.base_url == "https://atobarai-test.kuronekoyamato.co.jp"
        assert client_b.merchant_code == "22222222222" and client_b.timeout == 7
        assert ext.simulator is None                                    # not a sandbox app
        assert "bpass" not in repr(client_b)
    assert app_a.extensions["kuroneko"] is not app_b.extensions["kuroneko"]


def test_client_outside_sandbox_needs_credentials(tmp_path):
    app, db = _app(tmp_path, KURONEKO_ENVIRONMENT="production")
    ext = Kuroneko(app, db)
    with app.app_context():
        create_tables(db)
        with pytest.raises(ConfigurationError, match="加盟店コード and パスワード"):
            ext.client()


def test_sandbox_client_reaches_the_in_process_simulator(app, kuroneko, simulator):
    client = kuroneko.client()
    assert kuroneko.simulator is simulator
    assert client.merchant_code == "12345678901"       # the simulator's default merchant
    with pytest.raises(ApiError) as info:               # answered by the simulator
        client.get_status("NOPE0001")
    assert info.value.code == "kaast008E"


def test_sandbox_with_own_merchant_code_registers_it(tmp_path, simulator):
    app, db = _app(tmp_path, KURONEKO_ENVIRONMENT="sandbox", KURONEKO_MERCHANT_CODE="33333333333",
                   KURONEKO_PASSWORD="mypass")
    ext = Kuroneko(app, db)
    with app.app_context():
        create_tables(db)
        current_state().use_simulator(simulator)
        ext.client()
        assert simulator.merchant("33333333333").password == "mypass"


def test_status_client_uses_status_timeout(app, kuroneko):
    assert kuroneko.state.status_client().timeout == app.config["KURONEKO_STATUS_TIMEOUT"]


def test_insecure_checkout_only_in_production(tmp_path):
    app, db = _app(tmp_path, KURONEKO_ENVIRONMENT="production", KURONEKO_MERCHANT_CODE="12345678901",
                   KURONEKO_PASSWORD="pw")
    Kuroneko(app, db)
    with app.app_context():
        create_tables(db)
    with app.test_request_context("http://shop.example/kuroneko/sms/x"):
        from flask import request
        assert current_state().insecure_checkout(request) is True
    with app.test_request_context("https://shop.example/kuroneko/sms/x"):
        from flask import request
        assert current_state().insecure_checkout(request) is False
    app.config["KURONEKO_BEHIND_TLS_PROXY"] = True
    with app.test_request_context("http://shop.example/", headers={"X-Forwarded-Proto": "https"}):
        from flask import request
        assert current_state().insecure_checkout(request) is False


# --------------------------------------------------------------------------- inbound signals


def _paid_order(kuroneko):
    from hosts.simple_shop import make_order
    from flask_kuroneko import rules
    [invoice, _] = rules.ensure_default_methods()
    order = make_order()
    assert kuroneko.start_payment(order, invoice.id).kind == "authorized"
    return order


def test_inbound_signal_reacts_for_the_sending_app_only(app, kuroneko, db):
    from flask import current_app
    from flask_kuroneko import signals
    from flask_kuroneko.settings import save_settings
    save_settings({"other_carrier_enabled": True})
    order = _paid_order(kuroneko)
    order.carrier, order.tracking_no, order.status = "佐川急便", "1234", "発送済み"
    db.session.flush()
    other = Flask("not_a_kuroneko_app")
    signals.order_status_changed.send(other, order=order, old="新規受付", new="発送済み")
    assert kuroneko.payment_for(order.id).status == "authorized"       # ignored
    signals.order_status_changed.send(current_app, order=order, old="新規受付", new="発送済み")
    assert kuroneko.payment_for(order.id).status == "captured"         # proxy sender accepted


def test_signal_from_app_context_of_another_app_runs_in_the_sender_app(app, kuroneko, db, tmp_path):
    from hosts import simple_shop
    from flask_kuroneko import signals
    from flask_kuroneko.settings import save_settings
    save_settings({"cancel_with_order": True})
    order = _paid_order(kuroneko)
    db.session.commit()
    second = simple_shop.create_app(f"sqlite:///{tmp_path / 'second.sqlite'}")
    with second.app_context():        # the host sends from inside another app's context
        signals.order_status_changed.send(app, order=order, old="新規受付", new="キャンセル")
    db.session.rollback()     # end our transaction: REPEATABLE READ (MariaDB) keeps old snapshots
    # The reaction ran with the SENDER's settings and database (second has no tables at all).
    assert kuroneko.payment_for(order.id).status == "cancelled"


def test_reaction_failure_never_breaks_the_hosts_save(app, kuroneko, db, caplog):
    from hosts.simple_shop import ShopOrder
    from flask_kuroneko import signals
    broken = ShopOrder(id=424242, status="発送済み", lines=[], adjustments=[],
                       billing={"unexpected": "field"})       # the describer will raise
    signals.order_status_changed.send(app, order=broken, old="新規受付", new="発送済み")
    assert "failed" in caplog.text


# --------------------------------------------------------------------------- sandbox wiring


def _authorized_order_no(app) -> str:
    from hosts import simple_shop
    from flask_kuroneko import rules
    with app.app_context():
        create_tables(simple_shop.db)
        invoice, _ = rules.ensure_default_methods()
        outcome = simple_shop.kuroneko.start_payment(simple_shop.make_order(), invoice.id)
        assert outcome.kind == "authorized"
        order_no = outcome.payment.order_no
        simple_shop.db.session.remove()
        simple_shop.db.engine.dispose()
        return order_no


def test_sandbox_state_file_is_shared_between_processes_apps(tmp_path):
    """KURONEKO_SANDBOX_STATE: the web process and the CLI worker see one simulator state."""
    from hosts import simple_shop
    state_file = str(tmp_path / "sandbox-state.sqlite")
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    web = simple_shop.create_app(url, KURONEKO_SANDBOX_STATE=state_file)
    worker = simple_shop.create_app(url, KURONEKO_SANDBOX_STATE=state_file)
    order_no = _authorized_order_no(web)
    with web.app_context():
        web_simulator = simple_shop.kuroneko.simulator
    with worker.app_context():
        simulator = simple_shop.kuroneko.simulator
        assert simulator is not web_simulator                               # another object...
        assert simulator.transaction("12345678901", order_no)["status"] == 1   # ...same state
        assert simple_shop.kuroneko.client().get_status(order_no).status == 1


def test_sandbox_url_talks_to_a_stand_alone_sandbox_over_http(tmp_path):
    import threading

    from werkzeug.serving import make_server

    from hosts import simple_shop
    from flask_kuroneko.sandbox import Simulator, create_app as sandbox_app

    simulator = Simulator()
    server = make_server("127.0.0.1", 0, sandbox_app(simulator=simulator))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        shop = simple_shop.create_app(f"sqlite:///{tmp_path / 'shop.sqlite'}",
                                      KURONEKO_SANDBOX_URL=f"http://127.0.0.1:{server.server_port}")
        order_no = _authorized_order_no(shop)
        with shop.app_context():
            assert simple_shop.kuroneko.simulator is None       # nothing in-process
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert simulator.transaction("12345678901", order_no)["status"] == 1


def test_checkout_blueprint_registered_under_prefix_and_can_be_disabled(tmp_path):
    app, db = _app(tmp_path, "on", KURONEKO_CHECKOUT_URL_PREFIX="/pay")
    Kuroneko(app, db)
    rules_ = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("kuroneko_checkout.")]
    assert rules_ and all(r.startswith("/pay/") for r in rules_)
    off, db_off = _app(tmp_path, "off", KURONEKO_CHECKOUT_ENABLED=False, KURONEKO_ADMIN_ENABLED=False)
    Kuroneko(off, db_off)
    assert not [r for r in off.url_map.iter_rules() if r.endpoint.startswith("kuroneko_")]


def test_tables_stay_off_the_hosts_metadata(tmp_path):
    """The host's create_all and its Flask-Migrate autogenerate compare db.metadata: our
    tables are not on it (they are the extension's migrations'), before or after init_app."""
    from flask_kuroneko.models import metadata
    app, db = _app(tmp_path)
    Kuroneko(app, db)
    assert not [t for t in db.metadata.tables if t.startswith("kuroneko_")]
    assert {"kuroneko_settings", "kuroneko_payment_methods", "kuroneko_payments",
            "kuroneko_payment_history", "kuroneko_error_log", "kuroneko_prepayment_log",
            "kuroneko_operations", "kuroneko_jobs", "kuroneko_job_items", "kuroneko_runs"} == set(metadata.tables)

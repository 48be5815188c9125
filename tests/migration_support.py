"""Helpers of the migration tests (no tests here): a real flask-kuroneko 0.1.0 install with
rows in every table, built the way 0.1.0 built it, and row snapshots to compare.

The 0.1.0 kuroneko tables come from the frozen models of tests/data/models_0_1_0.py on a
host ``db`` of their own (0.1.0 put them on the host's metadata and ``create_all`` made
them); the host's own tables (tests/hosts/simple_shop.py) are created beside them. The one
与信 payment is a real sandbox authorization, so the upgraded install can still operate it.
"""
from __future__ import annotations

import importlib.util
import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import rules, secretbox
from hosts import simple_shop
from schema_support import create_tables, drop_kuroneko_tables

DATA = Path(__file__).parent / "data"
MERCHANT = "12345678901"
PASSWORD = "Secret12"        # the merchant password stored in the 0.1.0 settings row
STATUSES = ("pending", "awaiting_sms", "under_review", "authorized", "declined", "captured",
            "cancelled")
KUR_TABLES = ("kuroneko_settings", "kuroneko_payment_methods", "kuroneko_payments",
              "kuroneko_payment_history", "kuroneko_error_log", "kuroneko_prepayment_log",
              "kuroneko_operations")
#: Tables later revisions added (0005: bulk jobs; 0008: background runs).
ADDED_AFTER_0_1_0 = ("kuroneko_jobs", "kuroneko_job_items", "kuroneko_runs")


def models_0_1_0():
    """The frozen 0.1.0 models module (loaded once)."""
    name = "kuroneko_models_0_1_0"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DATA / "models_0_1_0.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def legacy_app(url: str, *, naming_convention: dict | None = None) -> tuple[Flask, SQLAlchemy, Any]:
    """A host app as 0.1.0 saw it: the kuroneko models on the host's own ``db``."""
    app = Flask("legacy_0_1_0")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    metadata = sa.MetaData(naming_convention=naming_convention) if naming_convention else None
    db = SQLAlchemy(metadata=metadata) if metadata is not None else SQLAlchemy()
    db.init_app(app)
    return app, db, models_0_1_0().define_models(db)


def create_0_1_0_tables(url: str, **kwargs: Any) -> None:
    """The 0.1.0 kuroneko tables, empty, exactly as 0.1.0's ``db.create_all()`` made them."""
    app, db, _ = legacy_app(url, **kwargs)
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def real_authorization(tmp_path: Path, simulator: Any) -> tuple[str, int]:
    """A 与信 that exists at the (simulated) Yamato: made by today's code on a scratch
    database with the same simulator and merchant; returns (order_no, amount)."""
    scratch = simple_shop.create_app(f"sqlite:///{tmp_path / 'scratch.sqlite'}",
                                     KURONEKO_MERCHANT_CODE=MERCHANT, KURONEKO_PASSWORD=PASSWORD)
    with scratch.app_context():
        try:
            create_tables(simple_shop.db)
            scratch.extensions["kuroneko"].use_simulator(simulator)
            invoice, _ = rules.ensure_default_methods()
            order = simple_shop.make_order()
            outcome = simple_shop.kuroneko.start_payment(order, invoice.id)
            assert outcome.kind == "authorized", outcome
            return outcome.payment.order_no, outcome.payment.amount
        finally:
            simple_shop.db.session.remove()
            simple_shop.db.engine.dispose()


def build_0_1_0_install(url: str, simulator: Any, tmp_path: Path, **kwargs: Any) -> dict:
    """A shop that ran 0.1.0: host orders, settings with a password, both methods, a payment
    in every status with history, error log, pre-payment log and journal rows. Returns
    facts about it (``orders``: status -> host order id, ``order_nos``: status -> 決済ID)."""
    simulator.configure_merchant(MERCHANT, password=PASSWORD)
    real_order_no, real_amount = real_authorization(tmp_path, simulator)

    host = simple_shop.create_app(url)
    with host.app_context():
        simple_shop.db.create_all()
        orders = {}
        for position, status in enumerate(STATUSES, start=1):
            order = simple_shop.ShopOrder(
                id=100 + position, billing=dict(simple_shop.DEFAULT_BILLING),
                lines=[["テスト商品", 2, 1500, "physical"]], adjustments=[])
            simple_shop.db.session.add(order)
            orders[status] = order.id
        simple_shop.db.session.commit()
        simple_shop.db.session.remove()
        simple_shop.db.engine.dispose()

    app, db, m = legacy_app(url, **kwargs)
    base = datetime(2025, 4, 1, 10, 30, 15)
    with app.app_context():
        db.create_all()                     # 0.1.0: the kuroneko tables on the host's metadata
        db.session.add(m.Settings(
            id=1, merchant_code=MERCHANT, password=PASSWORD, environment="sandbox",
            yamato_delivery_method_ids=["1", "3"], other_carrier_enabled=True,
            smartphone_enabled=True, ship_within_days=7, fee_mode="tiered", fee_fixed=None,
            fee_tiers=[[10000, 250], [None, 400]], credit_limit=50000, cancel_with_order=True,
            change_amount_with_order=True, prepayment_log_enabled=True,
            conversion_tag='<img src="/t?o={order_id}">', conversion_on_review=True,
            updated_at=base))
        invoice = m.PaymentMethod(kind="invoice", name="後払い（払込票）",
                                  description_html="<p>コンビニで</p>", active=True,
                                  sort_order=1, created_at=base)
        smartphone = m.PaymentMethod(kind="smartphone", name="後払い（スマホ）",
                                     description_html="", active=False, sort_order=2,
                                     created_at=base)
        db.session.add_all([invoice, smartphone])
        db.session.flush()
        payments = {}
        for position, status in enumerate(STATUSES, start=1):
            sms = status == "awaiting_sms"
            order_no = real_order_no if status == "authorized" else f"{9000000000 + position}"
            payment = m.Payment(
                order_no=order_no, host_order_id=str(orders[status]),
                method_id=(smartphone if sms else invoice).id,
                kind="smartphone" if sms else "invoice", status=status,
                amount=real_amount if status == "authorized" else 3000 + position,
                initial_amount=3000, fee=0, order_date=date(2025, 4, position),
                ship_date=date(2025, 4, position + 7),
                carrier="クロネコヤマト" if status == "captured" else None,
                tracking_no="123456789013" if status == "captured" else None,
                process_div=0 if status == "captured" else None,
                capture_note="送り状番号がありません" if status == "authorized" else None,
                sms_phone="090-1234-5678" if sms else None,
                sms_sent_at=base if sms else None, sms_attempts=1 if sms else 0,
                checkout_token=f"token-{status}" if sms else None,
                yamato_status=1 if status in ("authorized", "captured") else None,
                yamato_warning=0, synced_at=base,
                drift="ヤマトでは取消済み" if status == "captured" else None,
                conversion_shown_at=base if status == "authorized" else None,
                open_operation="authorize" if status == "pending" else None,
                authorized_at=base if status in ("authorized", "captured") else None,
                captured_at=base if status == "captured" else None,
                cancelled_at=base if status == "cancelled" else None,
                created_at=base + timedelta(minutes=position), updated_at=base)
            db.session.add(payment)
            db.session.flush()
            payments[status] = payment
        payments["declined"].replaces_id = payments["cancelled"].id   # the self reference
        for status, payment in payments.items():
            db.session.add(m.PaymentHistory(
                payment_id=payment.id, order_no=payment.order_no, operation="決済依頼",
                occurred_at=base, amount=payment.amount, result="OK" if status != "declined"
                else "NG", detail=f"0.1.0 history of {status}", actor="customer"))
        db.session.add(m.PaymentHistory(
            payment_id=payments["captured"].id, order_no=payments["captured"].order_no,
            operation="出荷情報登録", occurred_at=base + timedelta(days=1), amount=None,
            result="OK", detail=None, actor="admin"))
        db.session.add_all([
            m.ErrorLog(created_at=base, order_no=payments["declined"].order_no,
                       kind="invoice", operation="KAARA0010", code="kaara001E",
                       message="ご利用いただけません（旧ログ）",
                       detail={"returnCode": "1", "note": "0.1.0"}),
            m.ErrorLog(created_at=base + timedelta(hours=1), order_no=None, kind=None,
                       operation=None, code=None, message="接続エラー（旧ログ）", detail=None),
            m.PrepaymentLog(created_at=base, order_no=payments["pending"].order_no,
                            host_order_id=str(orders["pending"]), kind="invoice", amount=3001,
                            snapshot={"order_id": str(orders["pending"]), "total": 3001,
                                      "billing": simple_shop.DEFAULT_BILLING},
                            restored_order_id=None, restored_at=None),
            m.PrepaymentLog(created_at=base, order_no=payments["cancelled"].order_no,
                            host_order_id=None, kind="invoice", amount=3007,
                            snapshot={"total": 3007}, restored_order_id="555",
                            restored_at=base + timedelta(days=2)),
        ])
        for state in ("unknown", "queued", "done", "failed"):
            db.session.add(m.Operation(
                payment_id=payments["pending"].id, operation="authorize",
                params={"state": state, "amount": 3001}, state=state,
                attempts=2 if state == "failed" else 0, next_attempt_at=base,
                claimed_by="host:1" if state == "unknown" else None,
                claimed_until=base if state == "unknown" else None,
                last_error="timeout" if state == "failed" else None, created_at=base,
                resolved_at=base if state in ("done", "failed") else None))
        db.session.commit()
        ids = {status: payment.id for status, payment in payments.items()}
        order_nos = {status: payment.order_no for status, payment in payments.items()}
        db.session.remove()
        db.engine.dispose()
    return {"orders": orders, "payment_ids": ids, "order_nos": order_nos,
            "real_amount": real_amount}


#: The key simple_shop's app encrypts the merchant password with (its SECRET_KEY).
TEST_SECRET_KEY = "test"


def snapshot(engine: sa.engine.Engine, metadata: sa.MetaData,
             tables: tuple[str, ...] = KUR_TABLES) -> dict[str, list[dict]]:
    """Every row of ``tables`` as read through ``metadata``'s column types, by id; the
    settings' password as its plain text (revision 0003 encrypts it with a fresh nonce)."""
    box = secretbox.SecretBox.from_secrets([TEST_SECRET_KEY])
    with engine.connect() as conn:
        found = {name: [dict(row._mapping) for row in conn.execute(
            sa.select(metadata.tables[name]).order_by(metadata.tables[name].c.id))]
            for name in tables}
    for row in found.get("kuroneko_settings", []):
        row["password"] = box.decrypt(row["password"])
    return found


@contextmanager
def inside_the_app(url: str) -> Iterator[None]:
    """An app context of the host (its SECRET_KEY): revisions that need the app's key
    (0003 encrypts the password) run there, as `flask kuroneko db upgrade` runs them."""
    app = simple_shop.create_app(url)
    with app.app_context():
        try:
            yield
        finally:
            simple_shop.db.session.remove()
            simple_shop.db.engine.dispose()


def same_rows(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> None:
    """Every row of ``before`` is in ``after`` with the same values (new columns allowed)."""
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        for old, new in zip(rows, after[table]):
            assert {k: new[k] for k in old} == old, (table, old["id"])


def names_in(engine: sa.engine.Engine) -> dict[str, set[tuple[str, str | None]]]:
    """Table -> {(kind, name)} of its primary key, unique constraints, foreign keys and
    indexes, as the server reports them."""
    from flask_kuroneko.models import metadata
    inspector = sa.inspect(engine)
    found = {}
    for table in [t.name for t in metadata.sorted_tables]:     # the tables of the head
        if not inspector.has_table(table):                     # not there yet (0.1.0)
            continue
        uniques = inspector.get_unique_constraints(table)
        names = {("pk", inspector.get_pk_constraint(table).get("name"))}
        names |= {("uq", u["name"]) for u in uniques}
        names |= {("fk", f["name"]) for f in inspector.get_foreign_keys(table)}
        names |= {("ix", i["name"]) for i in inspector.get_indexes(table)
                  if "duplicates_constraint" not in i and i["name"] not in
                  {u["name"] for u in uniques}}
        found[table] = names
    return found


def drop_everything(url: str) -> None:
    """The host's and the extension's tables (the server database is shared by the run)."""
    engine = sa.create_engine(url)
    try:
        simple_shop.db.metadata.drop_all(bind=engine)
        drop_kuroneko_tables(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
            conn.execute(sa.text("DROP TABLE IF EXISTS kuroneko_unexpected"))
    finally:
        engine.dispose()

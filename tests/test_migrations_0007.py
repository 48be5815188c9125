"""Revision 0007's data migration: a drift recorded before the 差異 columns existed (text in
``kuroneko_payments.drift`` only) becomes an open 差異 the admin lists and counts; downgrade
drops the new columns and indexes and gives the status index back; upgrading again works."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from flask_kuroneko import migrations, payments
from hosts import simple_shop
from migration_support import build_0_1_0_install, drop_everything, inside_the_app

OLD_TEXT = "2025-06-01 03:00 ヤマトの取引状況は「取消済み」ですが、当店の決済状況は「与信」です。"


@pytest.fixture
def url(database_url):
    drop_everything(database_url)
    yield database_url
    drop_everything(database_url)


@pytest.fixture
def engine(url):
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def indexes(engine) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes("kuroneko_payments")}


def test_0007_turns_an_old_drift_into_an_open_one_and_steps_back(url, engine, simulator,
                                                                 tmp_path):
    build_0_1_0_install(url, simulator, tmp_path)
    with inside_the_app(url):
        migrations.upgrade(engine, "0006")
    with engine.begin() as conn:
        pid, synced = conn.execute(sa.text(
            "SELECT id, synced_at FROM kuroneko_payments WHERE status = 'authorized'")).first()
        conn.execute(sa.text("UPDATE kuroneko_payments SET drift = :d, synced_at = :s "
                             "WHERE id = :i"),
                     {"d": OLD_TEXT, "s": "2025-06-01 03:00:00", "i": pid})
        drifted = conn.execute(sa.text("SELECT count(*) FROM kuroneko_payments "
                                       "WHERE drift IS NOT NULL")).scalar()
        total = conn.execute(sa.text("SELECT count(*) FROM kuroneko_payments")).scalar()
    assert total > drifted >= 1
    with inside_the_app(url):
        migrations.upgrade(engine)
        P = simple_shop.kuroneko.models.Payment
        p = simple_shop.db.session.get(P, pid)
        assert (p.drift, p.drift_kind) == (OLD_TEXT, "yamato_other")
        assert p.drift_at is not None and p.drift_at.year == 2025
        assert p.drift_acknowledged_at is None
        assert payments.open_drift_count() == drifted           # only the drifted payments
        assert simple_shop.db.session.scalar(sa.select(sa.func.count(P.id)).where(
            P.drift_kind.is_(None), P.drift.is_not(None))) == 0
        simple_shop.db.session.remove()
    assert {"ix_kuroneko_payments_status_id", "ix_kuroneko_payments_drift_kind"} <= \
        indexes(engine)
    assert "ix_kuroneko_payments_status" not in indexes(engine)
    migrations.downgrade(engine, "0006")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("kuroneko_payments")}
    assert "drift_kind" not in columns and "yamato_status_at" not in columns
    assert "ix_kuroneko_payments_status" in indexes(engine)
    assert not sa.inspect(engine).has_table("kuroneko_runs")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT drift FROM kuroneko_payments WHERE id = :i"),
                            {"i": pid}).scalar() == OLD_TEXT
    with inside_the_app(url):
        migrations.upgrade(engine)
    assert migrations.differences(engine) == []

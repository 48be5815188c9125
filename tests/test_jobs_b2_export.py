"""「B2出荷データ出力」 from the database (the pure file builder has its own golden tests):
which orders, every mapped cell, settings per delivery method, the layout settings, 出荷予定日
from M6, warnings instead of silent changes, incomplete settings, the record of a download,
and the whole round trip DB → export → B2 issues slips → import → 売上確定."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from flask_kuroneko import jobs, payments
from flask_kuroneko.b2 import SettingsInvalid, header_row
from flask_kuroneko.jobs import b2_export, store
from hosts import simple_shop
from jobs_support import authorized, items, outcomes, run, use_b2_settings
from b2_support import issue
from service_support import models, rows


def cells(data: bytes, *, header: bool = True) -> list[list[str]]:
    text = data.decode("cp932")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    if header:
        assert parsed[0] == header_row(97)
        return parsed[1:]
    return parsed


def export_all():
    return b2_export.build(b2_export.authorized_payments())


@pytest.fixture
def b2(shop):
    use_b2_settings()
    return shop


def test_only_authorized_orders_with_yamato_delivery_are_written(app, kuroneko, b2):
    yamato, other, captured, cancelled = authorized(kuroneko, b2, 2) + authorized(
        kuroneko, b2, 2)
    db_order(other).delivery_method_id = b2["other_delivery"]
    simple_shop.db.session.commit()
    payments.capture(captured.id, carrier="クロネコヤマト", tracking_no=next_slip())
    payments.cancel(cancelled.id)
    outcome = export_all()
    assert [c.payment.id for c in outcome.candidates] == [yamato.id, other.id]
    assert outcome.result.exported_keys == (yamato.order_no,)
    [skipped] = outcome.skipped
    assert skipped.payment.id == other.id and "クロネコヤマト配送" in skipped.reason


def test_every_mapped_cell(app, kuroneko, b2):
    shipping = {"name": "佐藤 花子", "postal_code": "060-0001", "prefecture": "北海道",
                "address1": "札幌市中央区北一条西2丁目1-1", "address2": "札幌テストマンション101号室",
                "phone": "090-1111-2222", "name_kana": "サトウ ハナコ"}
    [p] = authorized(kuroneko, b2, shipping=shipping,
                     lines=[["手ぬぐい（藍）", 1, 1200, "physical"], ["風呂敷", 1, 2000, "physical"]])
    order = db_order(p)        # a line that is not shipped (the host's data as it is later)
    order.lines = order.lines + [["ダウンロード壁紙", 1, 300, "download"]]
    simple_shop.db.session.commit()
    data = export_all().result.data
    [row] = cells(data)
    assert len(row) == 97
    filled = {i + 1: v for i, v in enumerate(row) if v}
    assert filled == {
        1: p.order_no, 2: "0", 3: "0", 5: f"{p.ship_date:%Y/%m/%d}",
        9: "090-1111-2222", 11: "060-0001", 12: "北海道札幌市中央区北一条西2丁目1-1",
        13: "札幌テストマンション101号室", 16: "佐藤 花子", 17: "ｻﾄｳ ﾊﾅｺ",
        20: "03-1234-5678", 22: "150-0001", 23: "東京都渋谷区神宮前1-2-3", 24: "テストビル5F",
        25: "テスト雑貨店", 28: "手ぬぐい（藍）", 30: "風呂敷", 38: "1", 40: "0312345678",
        42: "01"}
    # the bytes exactly: CP932, CRLF, header, no quoting needed, 97 cells
    golden = (",".join(header_row(97)) + "\r\n"
              + ",".join(filled.get(n, "") for n in range(1, 98)) + "\r\n").encode("cp932")
    assert data == golden

def test_slip_type_and_cool_per_delivery_method_and_layout_settings(app, kuroneko, b2):
    use_b2_settings(b2_slip_types={str(b2["yamato_delivery"]): "A"}, b2_header_row=False,
                    b2_columns=95)
    [nekopos] = authorized(kuroneko, b2)
    [row] = cells(export_all().result.data, header=False)
    assert len(row) == 95 and row[0] == nekopos.order_no and row[1] == "A" and row[2] == ""
    use_b2_settings(b2_slip_types={}, b2_cool_methods={str(b2["yamato_delivery"]): "2"},
                    b2_header_row=True, b2_columns=97)
    [row] = cells(export_all().result.data)
    assert row[1] == "0" and row[2] == "2"


def test_ship_date_comes_from_m6_and_a_past_date_becomes_today(app, kuroneko, b2):
    from flask_kuroneko.settings import save_settings
    save_settings({"ship_within_days": 3})
    [p] = authorized(kuroneko, b2)
    today = b2_export.today_jst()
    assert p.ship_date >= today
    [row] = cells(export_all().result.data)
    assert row[4] == f"{p.ship_date:%Y/%m/%d}"
    P = models().Payment
    simple_shop.db.session.execute(sa.update(P).where(P.id == p.id)
                                   .values(ship_date=today - timedelta(days=2)))
    simple_shop.db.session.commit()
    outcome = export_all()
    [row] = cells(outcome.result.data)
    assert row[4] == f"{today:%Y/%m/%d}"
    [c] = outcome.rows
    assert "本日の日付" in c.notes[0]
    job = b2_export.record(outcome, actor="admin", filename="x.csv")
    [item] = items(job)
    assert item.outcome == "exported" and item.code == "warning" and "本日" in item.message


def test_values_b2_cannot_take_are_changed_with_a_warning_never_silently(app, kuroneko, b2):
    [p] = authorized(kuroneko, b2)
    order = db_order(p)          # the customer's data as the host holds it later
    order.billing = dict(order.billing, name="=寿限無寿限無五劫の擦り切れ海砂利水魚の水行末",
                         address1="千代田区千代田1-1😀")
    simple_shop.db.session.commit()
    outcome = export_all()
    [row] = cells(outcome.result.data)
    assert row[15].startswith("'=") and len(row[15].encode("cp932")) <= 32
    assert "〓" in row[11]
    kinds = {(w.column_name, w.kind) for w in outcome.result.warnings}
    assert ("お届け先名", "formula") in kinds and ("お届け先名", "truncated") in kinds
    assert ("お届け先住所", "unrepresentable") in kinds
    job = b2_export.record(outcome, actor="admin", filename="x.csv")
    [item] = items(job)
    assert "〓" in item.message and "切り捨て" in item.message


def test_an_order_b2_would_refuse_is_left_out_with_the_reason(app, kuroneko, b2):
    good, bad = authorized(kuroneko, b2, 2)
    order = db_order(bad)
    order.billing = dict(order.billing, phone="0")
    simple_shop.db.session.commit()
    outcome = export_all()
    assert outcome.result.exported_keys == (good.order_no,)
    [rejected] = outcome.result.rejected
    assert rejected.customer_key == bad.order_no and "電話番号" in " ".join(rejected.problems)
    job = b2_export.record(outcome, actor="admin", filename="x.csv")
    assert outcomes(job) == {good.order_no: "exported", bad.order_no: "rejected"}
    assert store.last_exports([good.id, bad.id]).keys() == {good.id}


def test_incomplete_b2_settings_refuse_the_export(app, kuroneko, shop):
    authorized(kuroneko, shop)
    with pytest.raises(SettingsInvalid) as refused:
        export_all()
    fields = {p.field for p in refused.value.problems}
    assert {"shipper.name", "shipper.phone", "billing.customer_code"} <= fields
    assert rows(models().Job) == []


def test_round_trip_export_issue_import_captures_every_order(app, kuroneko, b2, simulator):
    paid = authorized(kuroneko, b2, 3)
    outcome = export_all()
    b2_export.record(outcome, actor="admin", filename="x.csv")
    issued, numbers = issue(outcome.result.data)
    job = run(jobs.start_b2_import(issued, filename="issued.csv", actor="admin"))
    assert set(outcomes(job).values()) == {"captured"}
    for p in paid:
        p = payments.get_payment(p.id)
        assert p.status == "captured" and p.tracking_no == numbers[p.order_no][0]
        order = db_order(p)
        assert (order.status, order.tracking_no) == ("発送済み", numbers[p.order_no][0])
    # captured orders leave the export list
    assert export_all().candidates == []


def db_order(payment):
    return simple_shop.db.session.get(simple_shop.ShopOrder, int(payment.host_order_id))


def next_slip() -> str:
    from jobs_support import slips
    return next(slips(60010203040))

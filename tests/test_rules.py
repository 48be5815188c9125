"""M6 ship date, M10 availability reasons, M8/M9 payment-method rules."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from flask_kuroneko import PaymentKind, RuleViolation, rules
from flask_kuroneko.orderdata import DOWNLOAD, SERVICE, SUBSCRIPTION

# --------------------------------------------------------------------------- M6


D = date(2026, 3, 1)


def test_ship_date_is_order_date_plus_days():
    assert rules.planned_ship_date(D, ship_within_days=10, today=D) == date(2026, 3, 11)


def test_ship_date_prefers_desired_delivery_date():
    assert rules.planned_ship_date(D, ship_within_days=10, desired_delivery_date=date(2026, 3, 4),
                                   today=D) == date(2026, 3, 4)


def test_ship_date_never_before_order_date():
    assert rules.planned_ship_date(D, ship_within_days=10, desired_delivery_date=date(2026, 2, 20),
                                   today=D) == D


def test_ship_date_clamped_to_yamato_90_day_window():
    far = D + timedelta(days=200)
    assert rules.planned_ship_date(D, ship_within_days=10, desired_delivery_date=far,
                                   today=D) == D + timedelta(days=90)
    assert rules.planned_ship_date(D, ship_within_days=10, desired_delivery_date=D + timedelta(days=90),
                                   today=D) == D + timedelta(days=90)


def test_jst_date_of_aware_and_naive_datetimes():
    late_utc = datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)      # 01:30 JST next day
    assert rules.jst_date(late_utc) == date(2026, 3, 2)
    assert rules.jst_date(datetime(2026, 3, 1, 23, 59)) == date(2026, 3, 1)


# --------------------------------------------------------------------------- M10


@pytest.fixture
def cart():
    from hosts.simple_shop import order_data
    return order_data


def test_available_for_a_normal_cart(cart):
    assert rules.unavailable_reason(cart(), fee=200, credit_limit=55000) is None


@pytest.mark.parametrize("kind", [DOWNLOAD, SERVICE, SUBSCRIPTION])
def test_physical_goods_only(cart, kind):
    order = cart(lines=[["本", 1, 1000, "physical"], ["PDF", 1, 500, kind]])
    assert rules.unavailable_reason(order, fee=0, credit_limit=55000) == rules.REASON_NOT_PHYSICAL


def test_one_destination_only(cart):
    order = cart(destination_count=2)
    assert rules.unavailable_reason(order, fee=0, credit_limit=55000) == \
        rules.REASON_MULTIPLE_DESTINATIONS


def test_limit_is_judged_on_total_plus_fee(cart):
    order = cart(lines=[["時計", 1, 54800, "physical"]])
    assert rules.unavailable_reason(order, fee=200, credit_limit=55000) is None
    reason = rules.unavailable_reason(order, fee=201, credit_limit=55000)
    assert reason == rules.reason_over_limit(55001, 55000)
    assert "55,001円" in reason and "55,000円" in reason


def test_limit_never_above_yamato_format_limit(cart):
    order = cart(lines=[["車", 1, 1_000_000, "physical"]])
    assert "999,999円" in rules.unavailable_reason(order, fee=0, credit_limit=999_999)


def test_zero_and_empty_and_inconsistent(cart):
    assert rules.unavailable_reason(cart(lines=[["無料", 1, 0, "physical"]]), fee=0,
                                    credit_limit=55000) == rules.REASON_ZERO
    empty = cart()
    empty.lines = []
    assert rules.unavailable_reason(empty, fee=0, credit_limit=55000) == rules.REASON_EMPTY
    wrong = cart()
    wrong.total += 1
    assert rules.unavailable_reason(wrong, fee=0, credit_limit=55000) == rules.REASON_TOTAL_MISMATCH


def test_data_check_runs_last_and_wraps_detail(cart):
    calls = []

    def check(order):
        calls.append(order)
        return "住所は50文字以内"

    assert rules.unavailable_reason(cart(destination_count=2), fee=0, credit_limit=1,
                                    check_data=check) == rules.REASON_MULTIPLE_DESTINATIONS
    assert calls == []
    assert rules.unavailable_reason(cart(), fee=0, credit_limit=55000, check_data=check) == \
        rules.reason_bad_data("住所は50文字以内")


# --------------------------------------------------------------------------- M8/M9 (DB)


def test_default_methods(kuroneko):
    created = rules.ensure_default_methods()
    assert [(m.kind, m.active) for m in created] == [("invoice", True), ("smartphone", False)]
    assert rules.ensure_default_methods() == []          # idempotent
    assert [m.kind for m in rules.list_methods()] == ["invoice", "smartphone"]
    assert [m.kind for m in rules.list_methods(active_only=True)] == ["invoice"]


def test_one_method_per_kind(kuroneko):
    rules.create_method(PaymentKind.INVOICE, name="後払い")
    with pytest.raises(RuleViolation) as info:
        rules.create_method("invoice", name="後払い2")
    assert "同じ決済種別の支払方法は1つまで" in info.value.message
    with pytest.raises(RuleViolation, match="決済種別「card」は不明"):
        rules.create_method("card")


def test_smartphone_needs_m5(kuroneko):
    from flask_kuroneko.settings import save_settings
    with pytest.raises(RuleViolation) as info:
        rules.create_method(PaymentKind.SMARTPHONE)
    assert "スマホタイプ利用" in info.value.message
    method = rules.create_method(PaymentKind.SMARTPHONE, active=False)
    with pytest.raises(RuleViolation, match="スマホタイプ利用"):
        rules.update_method(method.id, active=True)
    save_settings({"smartphone_enabled": True})
    assert rules.update_method(method.id, active=True).active is True


def test_update_validates_name(kuroneko):
    method = rules.create_method(PaymentKind.INVOICE)
    assert rules.update_method(method.id, name="  あと払い  ", description_html="<b>説明</b>").name == "あと払い"
    with pytest.raises(RuleViolation, match="支払方法名を入力"):
        rules.update_method(method.id, name=" ")
    with pytest.raises(RuleViolation, match="100文字以内"):
        rules.update_method(method.id, name="あ" * 101)
    with pytest.raises(RuleViolation, match="見つかりません"):
        rules.update_method(9999, name="x")


def test_delete_refused_when_payments_use_the_method(kuroneko, db):
    method = rules.create_method(PaymentKind.INVOICE)
    Payment = kuroneko.models.Payment
    db.session.add(Payment(order_no="1234567890", host_order_id="1", method_id=method.id,
                           kind="invoice", status="authorized", amount=1000, initial_amount=1000,
                           order_date=D, ship_date=D))
    db.session.commit()
    with pytest.raises(RuleViolation) as info:
        rules.delete_method(method.id)
    assert "1件の決済で使われている" in info.value.message and "「停止」" in info.value.message
    unused = rules.create_method(PaymentKind.SMARTPHONE, active=False)
    rules.delete_method(unused.id)
    assert [m.id for m in rules.list_methods()] == [method.id]


def test_reorder(kuroneko):
    a, b = rules.ensure_default_methods()
    assert [m.id for m in rules.reorder_methods([b.id, a.id])] == [b.id, a.id]
    assert [m.id for m in rules.list_methods()] == [b.id, a.id]
    for bad in ([a.id], [a.id, a.id], [a.id, b.id, 99]):
        with pytest.raises(RuleViolation, match="並び順"):
            rules.reorder_methods(bad)
    assert [m.id for m in rules.list_methods()] == [b.id, a.id]


# --------------------------------------------------------------------------- properties

from hypothesis import given, strategies as st  # noqa: E402


@given(order_offset=st.integers(-120, 0), days=st.integers(0, 90),
       desired_offset=st.one_of(st.none(), st.integers(-200, 400)))
def test_ship_date_always_acceptable_to_yamato(order_offset, days, desired_offset):
    """Whatever the inputs, shipYmd >= orderYmd and <= request day + 90 (spec §3.1)."""
    order_date = D + timedelta(days=order_offset)
    desired = None if desired_offset is None else D + timedelta(days=desired_offset)
    ship = rules.planned_ship_date(order_date, ship_within_days=days,
                                   desired_delivery_date=desired, today=D)
    assert order_date <= ship <= D + timedelta(days=90)
    if desired is not None and order_date <= desired <= D + timedelta(days=90):
        assert ship == desired

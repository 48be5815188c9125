"""M7 fee: fixed / tiered, edges of every tier, validation messages of the admin input."""
from __future__ import annotations

import pytest

from flask_kuroneko import fees

TIERS = [[3000, 200], [10000, 300], [None, 500]]


@pytest.mark.parametrize("fixed, expected", [(None, 0), (0, 0), (250, 250)])
def test_fixed_fee_blank_means_none(fixed, expected):
    assert fees.fee_for_amount(12345, mode="fixed", fixed=fixed, tiers=TIERS) == expected


@pytest.mark.parametrize("amount, expected", [
    (1, 200), (2999, 200), (3000, 200),        # inclusive upper bound
    (3001, 300), (10000, 300),
    (10001, 500), (999_999, 500),               # open last tier
])
def test_tier_edges(amount, expected):
    assert fees.fee_for_amount(amount, mode="tiered", fixed=999, tiers=TIERS) == expected


def test_above_last_closed_tier_uses_last_fee():
    assert fees.fee_for_amount(50_000, mode="tiered", fixed=None,
                               tiers=[[3000, 200], [10000, 300]]) == 300


def test_no_tiers_means_no_fee():
    assert fees.fee_for_amount(5000, mode="tiered", fixed=100, tiers=[]) == 0


def test_unknown_mode_is_refused():
    with pytest.raises(fees.FeeConfigError, match="固定額か変動額"):
        fees.fee_for_amount(1, mode="percent", fixed=None, tiers=[])


@pytest.mark.parametrize("tiers, message", [
    ([[3000, 200], [3000, 300]], "2行目: 上限金額は前の行（3,000円）より大きく"),
    ([[5000, 200], [3000, 300]], "2行目: 上限金額は前の行"),
    ([[None, 200], [3000, 300]], "1行目: 上限金額を空欄にできるのは最後の行だけ"),
    ([[0, 200]], "1行目: 上限金額は1円以上"),
    ([[3000, -1]], "1行目: 手数料は0〜99,999円"),
    ([[3000, "abc"]], "1行目の手数料は整数"),
    ([[3000]], "1行目: 「上限金額」と「手数料」の2つ"),
])
def test_invalid_tiers_name_the_row(tiers, message):
    with pytest.raises(fees.FeeConfigError) as info:
        fees.normalize_tiers(tiers)
    assert message in info.value.message


def test_parse_and_format_textarea_round_trip():
    text = "3000,200\n１００００，300円\n\n*,500\n"
    tiers = fees.parse_tiers_text(text)
    assert tiers == TIERS
    assert fees.parse_tiers_text(fees.format_tiers_text(tiers)) == tiers


def test_parse_refuses_thousands_separators():
    with pytest.raises(fees.FeeConfigError, match="桁区切り"):
        fees.parse_tiers_text("3,000,200")


from hypothesis import given, strategies as st  # noqa: E402

tier_tables = st.lists(st.tuples(st.integers(1, 500_000), st.integers(0, 99_999)),
                       min_size=1, max_size=6, unique_by=lambda t: t[0]).map(
    lambda rows: [[up, fee] for up, fee in sorted(rows)])


@given(tiers=tier_tables, open_last=st.booleans(), amount=st.integers(1, 999_999))
def test_tiered_fee_is_the_first_tier_covering_the_amount(tiers, open_last, amount):
    if open_last:
        tiers = [*tiers, [None, 777]]
    fee = fees.fee_for_amount(amount, mode="tiered", fixed=None, tiers=tiers)
    covering = [f for up, f in tiers if up is None or amount <= up]
    assert fee == (covering[0] if covering else tiers[-1][1])
    assert fees.parse_tiers_text(fees.format_tiers_text(tiers)) == tiers

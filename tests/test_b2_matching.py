"""Grouping issued slips per order and sorting out unknown keys (flask_kuroneko.b2.matching)."""
from __future__ import annotations

import pytest

from flask_kuroneko.b2 import RowKind, match, parse_issued

from b2_support import BAD_CHECK, T1, T2, T3, T4, T5, T6, T7, b2_row, csv_bytes


class Payment:
    """Stands for whatever the caller looks up (e.g. a payment row)."""

    def __init__(self, order_no: str):
        self.order_no = order_no


def issued_file(*rows):
    return parse_issued(csv_bytes(list(rows)))


def test_slips_are_grouped_per_key_in_file_order():
    issued = issued_file(b2_row("10006", T5), b2_row("10001", T1), b2_row("10006", T6),
                         b2_row("10006", T7), b2_row("10001", T2))
    p1, p6 = Payment("10001"), Payment("10006")
    result = match(issued, {"10001": p1, "10006": p6})
    assert [(o.key, o.target, o.tracking_nos, o.lines) for o in result.matched] == [
        ("10006", p6, (T5, T6, T7), (1, 3, 4)), ("10001", p1, (T1, T2), (2, 5))]
    assert result.unknown == () and result.problems == () and result.slip_count == 5


def test_i7_foreign_and_unknown_keys_are_reported_and_never_matched():
    issued = issued_file(b2_row("10001", T1), b2_row("ZZ-999", T2), b2_row("99999", T3),
                         b2_row("99999", T4))
    result = match(issued, {"10001": Payment("10001")})
    assert [o.key for o in result.matched] == ["10001"]
    assert [(u.key, u.tracking_nos, u.lines) for u in result.unknown] == [
        ("ZZ-999", (T2,), (2,)), ("99999", (T3, T4), (3, 4))]
    assert result.unknown[1].message.startswith("3・4行目: お客様管理番号「99999」に当たる注文がありません")


def test_a_callable_lookup_is_asked_once_per_key():
    asked = []

    def lookup(key):
        asked.append(key)
        return Payment(key) if key.startswith("1") else None

    issued = issued_file(b2_row("10001", T1), b2_row("10001", T2), b2_row("20001", T3),
                         b2_row("10001", T1))
    result = match(issued, lookup)
    assert asked == ["10001", "20001"]
    assert [o.tracking_nos for o in result.matched] == [(T1, T2)]
    assert [u.key for u in result.unknown] == ["20001"]
    assert [r.kind for r in result.problems] == [RowKind.DUPLICATE]


def test_problem_rows_are_passed_through_and_not_matched():
    issued = issued_file(b2_row("10001", T1), b2_row("10002", BAD_CHECK), b2_row("", T3),
                         b2_row("10003", ""))
    result = match(issued, lambda key: Payment(key))
    assert [o.key for o in result.matched] == ["10001"]
    assert [r.kind for r in result.problems] == [RowKind.INVALID_SLIP, RowKind.MISSING_KEY,
                                                 RowKind.MISSING_SLIP]


def test_one_slip_under_several_keys_is_shown_not_decided():
    issued = issued_file(b2_row("10001", T1), b2_row("10002", T1), b2_row("10003", T2))
    result = match(issued, lambda key: Payment(key))
    assert len(result.matched) == 3
    assert [(s.tracking_no, s.keys) for s in result.shared] == [(T1, ("10001", "10002"))]


def test_keys_for_one_batched_query():
    issued = issued_file(b2_row("10002", T1), b2_row("10001", T2), b2_row("10002", T3),
                         b2_row("10003", ""))
    assert issued.keys() == ["10002", "10001"]


def test_a_failing_lookup_propagates_and_nothing_is_returned():
    def broken(key):
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        match(issued_file(b2_row("10001", T1)), broken)


def test_matching_twice_gives_the_same_result():
    issued = issued_file(b2_row("10001", T1), b2_row("ZZ", T2))
    lookup = {"10001": "payment-1"}
    assert match(issued, lookup) == match(issued, lookup)

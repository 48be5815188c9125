"""Fitting free text into B2 columns (flask_kuroneko.b2.charset)."""
from __future__ import annotations

import pytest

from flask_kuroneko.b2 import charset
from flask_kuroneko.b2.charset import (GETA, clean, cp932_len, fit, is_machine_dependent,
                                       to_cp932, to_halfwidth_kana, truncate_bytes)


@pytest.mark.parametrize("value,expected", [
    (None, ""), ("  山田\r\n花子\t様 ", "山田 花子 様"), ("a\u200bb\ufeffc", "abc"),
    ("葛\U000e0100城", "葛城"), ("a\u00a0b\u2003c", "a b c"), ("x\x85y\u2028z", "x y z")])
def test_clean_only_makes_invisible_changes(value, expected):
    assert clean(value) == expected


@pytest.mark.parametrize("ch", ["①", "㈱", "髙", "﨑", "ⅰ", "№"])
def test_machine_dependent_characters(ch):
    assert is_machine_dependent(ch)


@pytest.mark.parametrize("ch", ["高", "崎", "あ", "ｱ", "A", "〓", "～", "－", "𠮷"])
def test_jis_x_0208_and_unencodable_are_not_machine_dependent(ch):
    assert not is_machine_dependent(ch)


def test_unrepresentable_characters_become_geta_once_reported():
    text, changes = to_cp932("😀a😀b🍣")
    assert text == f"{GETA}a{GETA}b{GETA}"
    [change] = changes
    assert change.kind == charset.UNREPRESENTABLE
    assert change.detail.startswith("「😀」「🍣」はShift_JIS（CP932）にない文字")


def test_replacements_are_listed_each_once():
    text, changes = to_cp932("𠮷田—𠮷")
    assert text == "吉田―吉"
    assert changes[0].detail == "「𠮷」を「吉」、「—」を「―」に置き換えました。"


def test_look_alikes_take_the_form_b2_reads_back():
    # U+2212 MINUS and U+301C WAVE DASH encode to the codes of － and ～.
    assert to_cp932("1−2〜3") == ("1－2～3", [])


def test_truncation_respects_character_boundaries_and_half_width_kana():
    assert truncate_bytes("あいう", 5) == ("あい", "う")
    assert truncate_bytes("ｱｲｳｴｵ", 3) == ("ｱｲｳ", "ｴｵ")
    assert truncate_bytes("ab", 2) == ("ab", "")
    text, changes = fit("a" + "あ" * 30, 10)
    assert text == "aああああ" and cp932_len(text) == 9
    assert changes[0].kind == charset.TRUNCATED and "末尾の26文字" in changes[0].detail


def test_formula_neutralisation_counts_towards_the_limit():
    text, changes = fit("=" + "x" * 60, 50)
    assert text == "'=" + "x" * 48
    assert [c.kind for c in changes] == [charset.FORMULA, charset.TRUNCATED]


@pytest.mark.parametrize("value,expected", [
    ("ヤマダ ハナコ", "ﾔﾏﾀﾞ ﾊﾅｺ"), ("やまだ", "ﾔﾏﾀﾞ"), ("ﾊﾟﾝ", "ﾊﾟﾝ"), ("ヴィラ", "ｳﾞｨﾗ"),
    ("ＡＢＣ　コーポ", "ABC ｺｰﾎﾟ"), ("", "")])
def test_half_width_kana(value, expected):
    assert to_halfwidth_kana(value, 50) == (expected, [])


def test_half_width_kana_refuses_kanji_and_cuts_at_the_limit():
    assert to_halfwidth_kana("山田", 50)[1][0].kind == charset.DROPPED
    text, changes = to_halfwidth_kana("ア" * 60, 50)
    assert text == "ｱ" * 50 and changes[0].kind == charset.TRUNCATED


def test_half_width_kana_formula_is_reported():
    text, changes = to_halfwidth_kana("-ｱ", 50)
    assert text == "'-ｱ" and changes[0].kind == charset.FORMULA


def test_a_pasted_megabyte_is_cut_cheaply_and_counted():
    text, changes = fit("あ" * 1_000_000 + "😀", 10)
    assert text == "あ" * 5
    assert [c.kind for c in changes] == [charset.TRUNCATED]     # the emoji was never reached
    assert "末尾の999996文字" in changes[0].detail

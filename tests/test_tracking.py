"""送り状番号 normalisation and the seven check (flask_kuroneko.yamato.tracking)."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from flask_kuroneko.errors import KuronekoError
from flask_kuroneko.yamato import tracking
from flask_kuroneko.yamato.tracking import (
    InvalidTrackingNumber, check_digit, format_tracking_number, is_valid_tracking_number,
    normalize_tracking_number, with_check_digit)

# Published, independently sourced numbers: shipping-jp-js README (Yamato sample), the
# 7DR worked example 1234-5678-901 → 3 (nanoappli, Yahoo!知恵袋), a continuous-form example
# 2009-6118-5434 (cm55 manual), a real issued number quoted by the b2cloud-api project.
PUBLISHED_VALID = ["444413758703", "123456789013", "200961185434", "389711074012",
                   "443695344411"]
# The spec's invented fixtures (b2-csv §12.2).
SPEC_VALID = ["450102030405", "450102030416", "450102030420", "450102030431", "450102030442",
              "390011223346", "390011223350"]


@pytest.mark.parametrize("number", PUBLISHED_VALID + SPEC_VALID)
def test_known_valid_numbers_pass_unchanged(number):
    assert normalize_tracking_number(number) == number
    assert is_valid_tracking_number(number)


def test_worked_example_check_digit():
    assert check_digit("12345678901") == 3          # 12345678901 = 7 × 1763668414 + 3
    assert with_check_digit("20096118543") == "200961185434"


@pytest.mark.parametrize("number", ["450102030454", "444413758704", "123456789010",
                                    "123456789017", "123456789019"])
def test_wrong_check_digit_is_refused_with_reason(number):
    with pytest.raises(InvalidTrackingNumber) as info:
        normalize_tracking_number(number)
    assert info.value.code == tracking.CHECK_DIGIT
    assert "チェックデジット" in info.value.reason and number in info.value.reason


def test_check_digits_seven_to_nine_never_exist():
    # x mod 7 is 0..6: a slip ending in 7, 8 or 9 is always a typo.
    for last in "789":
        assert not is_valid_tracking_number("12345678901" + last)


@pytest.mark.parametrize("written", [
    "4501-0203-0405", "4501 0203 0405", " 450102030405 ", "４５０１０２０３０４０５",
    "４５０１－０２０３－０４０５", "4501‐0203‐0405", "4501−0203−0405", "4501ー0203ー0405",
    "4501\u30000203\u30000405", "4501\t0203-0405"])
def test_harmless_spellings_are_normalised(written):
    assert normalize_tracking_number(written) == "450102030405"


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_empty_is_its_own_reason(value):
    with pytest.raises(InvalidTrackingNumber) as info:
        normalize_tracking_number(value)
    assert info.value.code == tracking.EMPTY
    assert info.value.reason == "送り状番号が空です。"


@pytest.mark.parametrize("value,digits", [("45010203045", 11), ("4501020304051", 13),
                                          ("4501-0203-04", 10), ("--", 0)])
def test_wrong_length_names_the_count(value, digits):
    with pytest.raises(InvalidTrackingNumber) as info:
        normalize_tracking_number(value)
    assert info.value.code == tracking.LENGTH_MISMATCH
    assert f"{digits}桁" in info.value.reason and "12桁" in info.value.reason


@pytest.mark.parametrize("value,shown", [
    ("45010203040A", "「A」"), ("4501/0203/0405", "「/」"), ("4501.0203.0405", "「.」"),
    ("450102030405\x00", "制御文字"), ("4501\n02030405", "制御文字"),
    ("٤٥٠١٠٢٠٣٠٤٠٥", "「٤」"),            # Arabic-Indic digits are digits to str.isdigit()
    ("①２３４５６７８９０１３", "「①」"), ("12345678901³", "「³」")])
def test_other_characters_are_refused_not_dropped(value, shown):
    with pytest.raises(InvalidTrackingNumber) as info:
        normalize_tracking_number(value)
    assert info.value.code == tracking.CHARACTERS
    assert shown in info.value.reason


@pytest.mark.parametrize("value", ["4.50102E+11", "4.50102030405E+11", "4.5e11", "4E+11"])
def test_spreadsheet_exponent_form_is_explained(value):
    with pytest.raises(InvalidTrackingNumber) as info:
        normalize_tracking_number(value)
    assert info.value.code == tracking.EXPONENT
    assert "指数表記" in info.value.reason and "B2クラウド" in info.value.reason


def test_a_pasted_megabyte_is_not_echoed_whole():
    with pytest.raises(InvalidTrackingNumber) as info:
        normalize_tracking_number("1" * 1_000_000)
    assert len(info.value.reason) < 200


def test_error_belongs_to_the_package_hierarchy_and_to_valueerror():
    with pytest.raises(KuronekoError):
        normalize_tracking_number("x")
    with pytest.raises(ValueError):
        normalize_tracking_number("x")


def test_format_for_display():
    assert format_tracking_number("450102030405") == "4501-0203-0405"
    with pytest.raises(ValueError):
        format_tracking_number("4501-0203-0405")


def test_check_digit_refuses_anything_but_eleven_ascii_digits():
    for bad in ["1234567890", "123456789012", "１２３４５６７８９０１", "1234567890a"]:
        with pytest.raises(ValueError):
            check_digit(bad)


@given(st.integers(min_value=0, max_value=10 ** 11 - 1))
def test_every_body_has_exactly_one_valid_last_digit(body):
    first = f"{body:011d}"
    valid = [d for d in "0123456789" if is_valid_tracking_number(first + d)]
    assert valid == [str(body % 7)]


@given(st.integers(min_value=0, max_value=10 ** 11 - 2))
def test_consecutive_slips_differ_by_11_or_4(body):
    # The rule people use on continuous slip forms: +11 after a check digit 0–5, +4 after 6.
    a = int(with_check_digit(f"{body:011d}"))
    b = int(with_check_digit(f"{body + 1:011d}"))
    assert b - a == (4 if a % 10 == 6 else 11)


@given(st.integers(min_value=0, max_value=10 ** 11 - 1), st.integers(0, 11), st.integers(0, 9))
def test_any_single_digit_change_is_caught_unless_it_is_a_multiple_of_seven(body, pos, new):
    number = with_check_digit(f"{body:011d}")
    changed = number[:pos] + str(new) + number[pos + 1:]
    if changed == number:
        return
    if pos == 11:
        assert not is_valid_tracking_number(changed)
    else:
        # A digit change of ±7 in the body keeps the remainder: the check cannot see it.
        delta = abs(int(changed[:11]) - int(number[:11]))
        assert is_valid_tracking_number(changed) == (delta % 7 == 0 and changed[11] == number[11])


def test_a_number_is_a_programming_error_not_a_tracking_number():
    with pytest.raises(TypeError):
        normalize_tracking_number(450102030405)

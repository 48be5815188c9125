"""Formula neutralisation of CSV cells (every CSV the package writes uses it)."""
from __future__ import annotations

import pytest

from flask_kuroneko.csvcells import cell, is_formula_like, neutralize


@pytest.mark.parametrize("text", ["=1+1", "+81", "-2", "@SUM(A1)", "\t=x", "\r=x",
                                  "＝HYPERLINK()", "＋1", "－1", "＠x"])
def test_formula_like_text_is_prefixed(text):
    assert is_formula_like(text)
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize("text", ["", "山田 太郎", "1-2-3 番地", "kaacl015E", "'quoted"])
def test_plain_text_is_unchanged(text):
    assert neutralize(text) == text


def test_cell_keeps_our_numbers_and_neutralises_text():
    assert cell(-500) == -500
    assert cell(None) == ""
    assert cell(True) == "True"
    assert cell("-500") == "'-500"

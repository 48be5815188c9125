"""Cells of the CSV files the package writes (error log, B2 export, job results).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return before one of them) as a formula (CSV injection, OWASP). Text that reaches our CSV files
can come from customers (names, addresses) or from Yamato's answers, so every writer passes its
cells through :func:`neutralize`, which prefixes such a cell with an apostrophe — the convention
Excel and LibreOffice show as plain text. Numbers we write ourselves (amounts, negative
adjustments) are not text and are left alone by :func:`cell`.
"""
from __future__ import annotations

from typing import Any

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would evaluate ``text`` (full-width forms included: Excel in a
    Japanese locale converts ＝ and ＋ on input)."""
    return bool(text) and text.startswith(FORMULA_STARTS)


def neutralize(text: str) -> str:
    """``text`` made safe as a spreadsheet cell (an apostrophe in front of a formula)."""
    return "'" + text if is_formula_like(text) else text


def cell(value: Any) -> Any:
    """A CSV cell: ints pass through (our own numbers), everything else as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return neutralize(str(value))

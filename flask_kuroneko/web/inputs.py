"""Strict parsing of what arrives in URLs and forms: ids and control characters.

Why strict: ``str.isdigit`` accepts 「²」 and 「١」 (``int`` then fails or maps them to other
numbers), Werkzeug's ``<int:…>`` accepts any length (an id beyond the column's range makes
PostgreSQL and SQLite raise instead of finding nothing), and PostgreSQL refuses a NUL byte in
any text parameter. So: ids are 1–10 ASCII digits within the INTEGER range of all three
databases, anything else is "not found"; a control character anywhere in a query, a form value
or a path segment is refused with a Japanese message before a view sees it.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, request
from werkzeug.routing import BaseConverter, ValidationError

logger = logging.getLogger(__name__)

#: Largest value of an INTEGER primary key on SQLite, PostgreSQL and MariaDB alike.
MAX_ID = 2**31 - 1
_ASCII_ID = re.compile(r"[0-9]{1,10}")
#: C0 controls except tab/LF/CR, DEL, C1 controls, line/paragraph separators: never typed.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
#: In one-line values (queries, path segments, redirect targets) tab/LF/CR are refused too.
_CONTROL_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONVERTER_NAME = "kuroneko_id"

MSG_CONTROL = ("入力内容に使用できない文字（制御文字）が含まれています。ブラウザの「戻る」で前の画面に戻り、"
               "該当の文字を削除してから、もう一度お試しください。")


def parse_id(value: Any, *, maximum: int = MAX_ID) -> int | None:
    """``value`` as a positive id, or None: only 1–10 ASCII digits, 1 ≤ id ≤ ``maximum``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= maximum else None


def parse_ids(values: Iterable[Any]) -> list[int] | None:
    """Every value as an id (duplicates dropped, order kept), or None when one is not an id."""
    result: list[int] = []
    for value in values:
        number = parse_id(value)
        if number is None:
            return None
        if number not in result:
            result.append(number)
    return result


class IdConverter(BaseConverter):
    """``<kuroneko_id:name>``: a row id in a URL; anything else is a 404 (no view call)."""
    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def install_id_converter(app: Flask) -> None:
    """Make ``<kuroneko_id:…>`` known to ``app`` (before any rule uses it)."""
    app.url_map.converters.setdefault(CONVERTER_NAME, IdConverter)


def has_control_characters(text: str, *, one_line: bool = False) -> bool:
    return bool((_CONTROL_ONE_LINE if one_line else _CONTROL).search(text))


def _offending_request_part() -> str | None:
    """Where the current request carries a control character (for the log), or None."""
    for key, value in request.args.items(multi=True):
        if has_control_characters(key + value, one_line=True):
            return f"query parameter {key[:40]!r}"
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and has_control_characters(value, one_line=True):
            return f"path segment {key!r}"
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if has_control_characters(key, one_line=True) or has_control_characters(value):
                return f"form field {key[:40]!r}"
    return None


def refuse_control_characters() -> Any:
    """``before_request`` handler: a 400 page with a Japanese message when the query, a path
    segment or a form value holds a control character (tab/LF/CR are allowed in form values:
    text areas); None lets the request through."""
    where = _offending_request_part()
    if where is None:
        return None
    logger.warning("request refused: control character in the %s of %s %s", where,
                   request.method, request.path)
    return refusal_response(MSG_CONTROL, status=400)


def refusal_response(message: str, *, status: int) -> Any:
    """A minimal Japanese page for a refused request (no template: it must always work)."""
    from markupsafe import escape
    body = ('<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>エラー</title></head><body><p role="alert">{escape(message)}</p></body></html>')
    return current_app.response_class(body, status=status, mimetype="text/html")

"""「B2出荷データ取込」: read the CSV B2クラウド exports after issuing slips (発行済データ).

The whole file is checked before any row is returned; a file that is not B2 issued data is
refused as a whole (:class:`FileRefused`, Japanese message) and nothing of it is used:
empty, over the size limit (read no further than the limit), binary (ZIP/xlsx, xls, PDF,
NUL bytes), an encoding that is neither CP932 nor UTF-8, too few or too many columns, broken
CSV quoting, too many rows, a header row without the key/slip columns, no 伝票番号 at all, or
numbers a spreadsheet has turned into ``4.50102E+11`` (such a file has lost digits).

Otherwise every data row becomes an :class:`IssuedRow` with a kind and, unless OK, a Japanese
message that starts with its row number (as a spreadsheet shows it). Parsing is pure and
deterministic: the same bytes always give the same result, and ``(key, tracking_no)`` is the
stable identity of a slip (repeats within the file are reported as duplicates).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO, Iterator

from ..yamato import tracking
from .errors import FileRefused
from .layout import (KEY_HEADERS, SHIP_DATE_HEADERS, SLIP_TYPE_HEADERS, TRACKING_HEADERS, Col,
                     normalize_header)

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 50_000
MIN_COLUMNS = Col.TRACKING_NO       # positional files need columns 1…4
MAX_COLUMNS = 200                   # the layout has 97; GoQ-style files 98
MAX_KEY_LENGTH = 50

_MAGIC = (
    (b"PK\x03\x04", "ZIP形式（Excelのxlsxファイルなど）"), (b"PK\x05\x06", "ZIP形式"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel（xls）形式"), (b"%PDF", "PDF"),
    (b"\x1f\x8b", "gzip形式"), (b"Rar!", "RAR形式"), (b"7z\xbc\xaf", "7z形式"),
    (b"\x89PNG", "画像（PNG）"), (b"\xff\xd8\xff", "画像（JPEG）"), (b"GIF8", "画像（GIF）"),
)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class RowKind(str, Enum):
    OK = "ok"
    INVALID_SLIP = "invalid_slip"       # 伝票番号 present but not a valid Yamato number
    MISSING_SLIP = "missing_slip"       # 伝票番号 empty (slip not issued, or cancelled)
    MISSING_KEY = "missing_key"         # お客様管理番号 empty: cannot be matched to an order
    MALFORMED = "malformed"             # too few columns, repeated header, unusable key
    DUPLICATE = "duplicate"             # same (key, 伝票番号) as an earlier row of the file


@dataclass(frozen=True)
class IssuedRow:
    line: int                   # row number in the file (1 = first row, header included)
    kind: RowKind
    key: str                    # お客様管理番号 as read ("" when missing)
    tracking_no: str            # 12 digits when OK/DUPLICATE; the cell as read otherwise
    message: str = ""           # Japanese, "N行目: …"; empty for OK rows
    reason: str = ""            # INVALID_SLIP: the tracking.InvalidTrackingNumber code
    slip_type: str = ""         # 送り状種類 (column 2) as read, for information
    ship_date: str = ""         # 出荷予定日 (column 5) as read, for information

    @property
    def identity(self) -> tuple[str, str]:
        """(お客様管理番号, 伝票番号): what makes a slip registration unique."""
        return self.key, self.tracking_no


@dataclass(frozen=True)
class IssuedFile:
    rows: tuple[IssuedRow, ...]
    encoding: str               # "cp932", "utf-8", "utf-8-sig" or "ascii"
    has_header: bool
    sha256: str                 # of the bytes read: lets the caller recognise a re-upload

    @property
    def ok_rows(self) -> tuple[IssuedRow, ...]:
        return tuple(r for r in self.rows if r.kind is RowKind.OK)

    @property
    def problems(self) -> tuple[IssuedRow, ...]:
        return tuple(r for r in self.rows if r.kind is not RowKind.OK)

    def keys(self) -> list[str]:
        """Distinct お客様管理番号 of the OK rows in file order (for one batched lookup)."""
        return list(dict.fromkeys(r.key for r in self.rows if r.kind is RowKind.OK))

    def counts(self) -> dict[RowKind, int]:
        out = {kind: 0 for kind in RowKind}
        for row in self.rows:
            out[row.kind] += 1
        return out


def read_limited(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """At most ``max_bytes`` of ``stream``, or :class:`FileRefused` (``too_large``). A seekable
    stream (an upload spooled to disk) is measured without reading; any other is read no
    further than one byte past the limit."""
    size = _remaining_size(stream)
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _remaining_size(stream: BinaryIO) -> int | None:
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


def parse_issued(source: bytes | BinaryIO, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_rows: int = DEFAULT_MAX_ROWS) -> IssuedFile:
    """Parse B2's issued-data CSV (bytes, or a binary stream read up to ``max_bytes``)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
    elif hasattr(source, "read"):
        data = read_limited(source, max_bytes)
    else:
        raise TypeError("parse_issued() takes bytes or a binary stream")
    _refuse_binary(data)
    text, encoding = _decode(data)
    rows, has_header = _parse_rows(text, max_rows)
    result = IssuedFile(rows=tuple(rows), encoding=encoding, has_header=has_header,
                        sha256=hashlib.sha256(data).hexdigest())
    logger.info("B2 issued file: %d rows (%s), encoding %s, header %s",
                len(rows), ", ".join(f"{k.value}={n}" for k, n in result.counts().items() if n),
                encoding, has_header)
    return result


# --------------------------------------------------------------------------- whole-file checks

def _refuse(code: str, message: str) -> FileRefused:
    logger.info("B2 issued file refused: %s", code)
    return FileRefused(code, message)


def _too_large(max_bytes: int) -> FileRefused:
    limit = (f"{max_bytes / 1024 / 1024:g}MB" if max_bytes >= 1024 * 1024
             else f"{max_bytes / 1024:g}KB")
    return _refuse("too_large", f"ファイルが大きすぎます（上限 {limit}）。"
                                "B2クラウドで出荷予定日の範囲を分けて出力し、分けて取り込んで"
                                "ください。")


def _refuse_binary(data: bytes) -> None:
    blank = b" \t\r\n\x1a"
    if not data[:4096].strip(blank) and not data.strip(blank):
        raise _refuse("empty", "ファイルが空です。B2クラウドの「発行済データの検索」から"
                               "出力したCSVファイルを選んでください。")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _refuse("binary", f"{what}のファイルです。B2クラウドの「外部ファイルに出力」で"
                                    "出力したCSVファイルをそのまま選んでください。")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
            b"\x00" in data[:4096] and data[:4096].count(b"\x00") * 3 > len(data[:4096])):
        raise _refuse("encoding", "UTF-16で保存されたファイルです。Shift_JIS（CP932）のCSVを"
                                  "そのまま選んでください。")
    if b"\x00" in data:
        raise _refuse("binary", "CSVではないデータ（NUL文字）が含まれています。B2クラウドから"
                                "出力したCSVファイルをそのまま選んでください。")
    sample = data[:65536]
    controls = sum(sample.count(bytes([b])) for b in _CONTROL_BYTES)
    if controls * 100 > len(sample):
        raise _refuse("binary", "CSVではないデータ（制御文字）が多く含まれています。B2クラウド"
                                "から出力したCSVファイルをそのまま選んでください。")


def _decode(data: bytes) -> tuple[str, str]:
    """UTF-8 with BOM (a file re-saved by a spreadsheet), strict UTF-8, then CP932 (B2's own).
    Strict UTF-8 first is safe: CP932 Japanese text is practically never valid UTF-8."""
    data = data.rstrip(b"\x1a")                # a DOS end-of-file mark
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _encoding_refusal(data[3:], exc.start, "UTF-8") from None
    if data.isascii():
        return data.decode("ascii"), "ascii"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise _encoding_refusal(data, exc.start, "Shift_JIS（CP932）") from None


def _encoding_refusal(data: bytes, position: int, expected: str) -> FileRefused:
    line = data.count(b"\n", 0, position) + 1
    return _refuse("encoding", f"文字コードを読み取れません（{line}行目付近に{expected}ではない"
                               "データがあります）。B2クラウドから出力したCSVファイルを、"
                               "表計算ソフトで保存し直さずにそのまま選んでください。")


# --------------------------------------------------------------------------- rows

@dataclass(frozen=True)
class _Columns:
    key: int
    tracking: int
    slip_type: int | None
    ship_date: int | None

    @property
    def needed(self) -> int:
        return max(self.key, self.tracking) + 1


POSITIONAL = _Columns(key=Col.CUSTOMER_KEY - 1, tracking=Col.TRACKING_NO - 1,
                      slip_type=Col.SLIP_TYPE - 1, ship_date=Col.SHIP_DATE - 1)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their endings, one at a time: ``io.StringIO`` would hold a
    second, four-bytes-per-character copy of a file that may be 20 MB. LF and CRLF files split
    at LF (the csv module handles the CR); a file without LF at all uses CR (old Mac style)."""
    end_char = "\n" if "\n" in text else "\r"
    start, size = 0, len(text)
    while start < size:
        end = text.find(end_char, start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(_lines(text), strict=True)
    line = 0
    try:
        for record in reader:
            line += 1
            yield line, record
    except csv.Error as exc:
        raise _refuse("csv_syntax", f"{line + 1}行目付近でCSVの形式が壊れています（{_csv_reason(exc)}）。"
                                    "B2クラウドから出力したファイルをそのまま選んでください。"
                                    ) from None


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return "1つの項目が長すぎます"
    if "unexpected end of data" in text or "EOF" in text:
        return "引用符「\"」が閉じられていません"
    return "引用符「\"」の位置が正しくありません"


def _parse_rows(text: str, max_rows: int) -> tuple[list[IssuedRow], bool]:
    records = _records(text)
    columns: _Columns | None = None
    header: list[str] | None = None
    rows: list[IssuedRow] = []
    seen: dict[tuple[str, str], int] = {}
    data_rows = 0
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue                                    # blank line, or ",,,," from Excel
        if columns is None:
            _check_width(line, record)
            header, columns = _detect_header(line, record)
            if header is not None:
                continue
        data_rows += 1
        if data_rows > max_rows:
            raise _refuse("too_many_rows", f"行数が上限（{max_rows:,}行）を超えています。"
                                           "B2クラウドで出荷予定日の範囲を分けて出力し、分けて"
                                           "取り込んでください。")
        rows.append(_row(line, record, columns, header is not None, seen))
    if not rows:
        raise _refuse("empty", "取り込むデータ行がありません。B2クラウドで発行済データを"
                               "選んで出力したファイルか確認してください。")
    _refuse_unusable(rows)
    return rows, header is not None


def _check_width(line: int, record: list[str]) -> None:
    if len(record) < MIN_COLUMNS or len(record) > MAX_COLUMNS:
        raise _refuse("columns", f"B2クラウドの発行済データではないようです（{line}行目の列数が"
                                 f"{len(record)}列です。1列目がお客様管理番号、4列目が伝票番号の"
                                 "CSVを選んでください）。")


def _detect_header(line: int, record: list[str]) -> tuple[list[str] | None, _Columns]:
    """A first row naming お客様管理番号/伝票番号 and holding no valid slip is a header; its
    names then locate the columns (B2's column order may follow account settings)."""
    names = [normalize_header(cell) for cell in record]
    named = any(n in KEY_HEADERS or n in TRACKING_HEADERS for n in names)
    if not named or any(tracking.is_valid_tracking_number(cell) for cell in record):
        return None, POSITIONAL

    def find(candidates: frozenset[str]) -> int | None:
        return next((i for i, n in enumerate(names) if n in candidates), None)

    key, slip = find(KEY_HEADERS), find(TRACKING_HEADERS)
    if key is None or slip is None:
        missing = "お客様管理番号" if key is None else "伝票番号"
        raise _refuse("header", f"{line}行目の見出しに「{missing}」の列がありません。B2クラウドの"
                                "発行済データをそのまま出力したファイルを選んでください。")
    return names, _Columns(key, slip, find(SLIP_TYPE_HEADERS), find(SHIP_DATE_HEADERS))


def _cell(record: list[str], index: int | None) -> str:
    return record[index].strip() if index is not None and index < len(record) else ""


def _row(line: int, record: list[str], columns: _Columns, has_header: bool,
         seen: dict[tuple[str, str], int]) -> IssuedRow:
    info = {"slip_type": _cell(record, columns.slip_type)[:2],
            "ship_date": _cell(record, columns.ship_date)[:10]}

    def result(kind: RowKind, key: str, slip: str, message: str = "",
               reason: str = "") -> IssuedRow:
        return IssuedRow(line, kind, key, slip, f"{line}行目: {message}" if message else "",
                         reason, **info)

    if (has_header and len(record) > columns.key and not record[columns.key].isascii()
            and normalize_header(record[columns.key]) in KEY_HEADERS):
        return result(RowKind.MALFORMED, "", "", "見出し行が繰り返されています（複数のファイルを"
                                                 "つなげたものは取り込めません）。")
    if len(record) < columns.needed or len(record) > MAX_COLUMNS:
        return result(RowKind.MALFORMED, "", "", f"列数が{len(record)}列で、お客様管理番号と"
                                                 "伝票番号を読み取れません。")
    key = record[columns.key].strip()
    if not key.isascii():
        key = unicodedata.normalize("NFKC", key).strip()
    raw = record[columns.tracking].strip()
    if len(key) > MAX_KEY_LENGTH or _CONTROL_CHARS.search(key):
        return result(RowKind.MALFORMED, "", raw[:24],
                      f"お客様管理番号が{MAX_KEY_LENGTH}文字を超えているか、改行などの制御文字を"
                      "含んでいます。")
    if not key:
        shown = f"（伝票番号 {raw[:24]}）" if raw else ""
        return result(RowKind.MISSING_KEY, "", raw[:24],
                      f"お客様管理番号が空のため、どの注文の送り状か分かりません{shown}。")
    if not raw:
        return result(RowKind.MISSING_SLIP, key, "", f"お客様管理番号「{key}」の伝票番号が空です"
                                                     "（未発行または取消済みの送り状）。")
    try:
        slip = tracking.normalize_tracking_number(raw)
    except tracking.InvalidTrackingNumber as exc:
        return result(RowKind.INVALID_SLIP, key, raw[:24], f"お客様管理番号「{key}」: {exc.reason}",
                      exc.code)
    first = seen.get((key, slip))
    if first is not None:
        return result(RowKind.DUPLICATE, key, slip, f"{first}行目と同じお客様管理番号「{key}」と"
                                                    f"伝票番号（{slip}）です。1回だけ登録します。")
    seen[(key, slip)] = line
    return result(RowKind.OK, key, slip)


def _refuse_unusable(rows: list[IssuedRow]) -> None:
    """Whole-file verdicts that per-row messages would only hide."""
    exponent = next((r for r in rows if r.reason == tracking.EXPONENT), None)
    if exponent is not None:
        raise _refuse("spreadsheet", f"{exponent.line}行目の伝票番号が「{exponent.tracking_no}」"
                                     "という指数表記になっています。表計算ソフトで保存し直した"
                                     "ファイルは番号の桁が失われているため取り込めません。"
                                     "B2クラウドから出力したファイルをそのまま選んでください。")
    if not any(r.key for r in rows):
        raise _refuse("no_key", "お客様管理番号が1件も入っていません。このショップの「B2出荷データ"
                                "出力」で作ったデータから発行した送り状の、発行済データを選んで"
                                "ください。")
    if all(r.kind in (RowKind.MISSING_SLIP, RowKind.MALFORMED) for r in rows):
        raise _refuse("no_tracking", "伝票番号が1件も入っていません。B2クラウドの「発行済データの"
                                     "検索」から出力したファイルを選んでください（「B2出荷データ"
                                     "出力」で作ったファイルではありません）。")

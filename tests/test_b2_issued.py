"""「B2出荷データ取込」 parsing (flask_kuroneko.b2.issued): the spec's import fixtures (b2-csv
§12.2), every row kind, every whole-file refusal, and hostile files."""
from __future__ import annotations

import codecs
import io
import os
import zipfile

import pytest

from flask_kuroneko.b2 import FileRefused, RowKind, header_row, parse_issued, read_limited

from b2_support import B2_HEADER, BAD_CHECK, T1, T2, T3, T4, T5, T6, T7, b2_row, csv_bytes

I1_ROWS = [b2_row("10001", T1), b2_row("10002", T2, slip_type="2")]


def parse(data: bytes, **kw):
    return parse_issued(data, **kw)


def refusal(data, **kw) -> FileRefused:
    with pytest.raises(FileRefused) as info:
        parse_issued(data, **kw)
    return info.value


def pairs(issued):
    return [(r.key, r.tracking_no) for r in issued.ok_rows]


# --------------------------------------------------------------------------- spec fixtures


def test_i1_headerless_all_quoted_cp932():
    issued = parse(csv_bytes(I1_ROWS))
    assert pairs(issued) == [("10001", T1), ("10002", T2)]
    assert (issued.has_header, issued.encoding) == (False, "cp932")
    assert [(r.line, r.slip_type, r.ship_date, r.message) for r in issued.rows] == [
        (1, "0", "2026/07/01", ""), (2, "2", "2026/07/01", "")]


def test_i2_header_row_is_detected_and_not_data():
    issued = parse(csv_bytes([B2_HEADER] + I1_ROWS))
    assert issued.has_header
    assert pairs(issued) == [("10001", T1), ("10002", T2)]
    assert [r.line for r in issued.rows] == [2, 3]


def test_our_own_header_spelling_is_detected_too():
    assert parse(csv_bytes([header_row()] + I1_ROWS, quote_all=False)).has_header


def test_header_names_locate_moved_columns():
    # B2's column order may follow account settings (spec §10.7): trust the header.
    header = ["出荷予定日", "伝票番号", "お届け先名", "お客様管理番号"]
    issued = parse(csv_bytes([header, ["2026/07/01", T1, "山田", "10001"]]))
    assert pairs(issued) == [("10001", T1)]
    assert issued.rows[0].ship_date == "2026/07/01" and issued.rows[0].slip_type == ""


def test_i3_several_slips_per_order_are_all_kept():
    rows = [b2_row("10005-1", T3), b2_row("10005-2", T4)] + [
        b2_row("10006", t, slip_type="6") for t in (T5, T6, T7)]
    issued = parse(csv_bytes(rows))
    assert pairs(issued) == [("10005-1", T3), ("10005-2", T4), ("10006", T5), ("10006", T6),
                             ("10006", T7)]
    assert issued.keys() == ["10005-1", "10005-2", "10006"]


@pytest.mark.parametrize("written", ["4501-0203-0405", "４５０１０２０３０４０５",
                                     " 4501 0203 0405 "])
def test_i4_hyphenated_and_full_width_numbers_are_normalised(written):
    issued = parse(csv_bytes([b2_row("10001", written)]))
    assert pairs(issued) == [("10001", T1)]


def test_i4_full_width_key_is_normalised():
    issued = parse(csv_bytes([b2_row("１０００１", T1)]))
    assert pairs(issued) == [("10001", T1)]


def test_i5_row_without_slip_is_reported_not_used():
    issued = parse(csv_bytes([b2_row("10001", T1), b2_row("10007", "")]))
    [problem] = issued.problems
    assert (problem.kind, problem.key, problem.line) == (RowKind.MISSING_SLIP, "10007", 2)
    assert problem.message == "2行目: お客様管理番号「10007」の伝票番号が空です（未発行または取消済みの送り状）。"


def test_i6_bad_numbers_are_refused_per_row_with_the_reason():
    issued = parse(csv_bytes([b2_row("10001", T1), b2_row("10008", "45010203045"),
                              b2_row("10009", BAD_CHECK), b2_row("10010", "4501O2030405")]))
    bad = issued.problems
    assert [(r.kind, r.reason, r.line) for r in bad] == [
        (RowKind.INVALID_SLIP, "length", 2), (RowKind.INVALID_SLIP, "check_digit", 3),
        (RowKind.INVALID_SLIP, "characters", 4)]
    assert bad[0].message.startswith("2行目: お客様管理番号「10008」: ") and "11桁" in bad[0].message
    assert "チェックデジット" in bad[1].message and bad[1].tracking_no == BAD_CHECK
    assert "「O」" in bad[2].message


def test_missing_key_is_its_own_kind():
    issued = parse(csv_bytes([b2_row("10001", T1), b2_row("", T2)]))
    [problem] = issued.problems
    assert (problem.kind, problem.tracking_no) == (RowKind.MISSING_KEY, T2)
    assert "どの注文の送り状か分かりません" in problem.message and T2 in problem.message


def test_i8_the_same_file_parses_to_the_same_result():
    data = csv_bytes([B2_HEADER] + I1_ROWS + [b2_row("10007", "")])
    first, second = parse(data), parse(data)
    assert first == second and first.sha256 == second.sha256
    assert parse(data + b"\r\n").sha256 != first.sha256


def test_duplicate_pairs_within_a_file_are_reported_once():
    issued = parse(csv_bytes([b2_row("10001", T1), b2_row("10001", "4501-0203-0405"),
                              b2_row("10002", T1)]))
    assert [r.kind for r in issued.rows] == [RowKind.OK, RowKind.DUPLICATE, RowKind.OK]
    assert issued.rows[1].message.startswith("2行目: 1行目と同じ") and issued.rows[1].identity == (
        "10001", T1)


def test_i10_utf8_with_bom_is_accepted():
    issued = parse(codecs.BOM_UTF8 + csv_bytes([B2_HEADER] + I1_ROWS, encoding="utf-8"))
    assert (issued.encoding, issued.has_header) == ("utf-8-sig", True)
    assert pairs(issued) == [("10001", T1), ("10002", T2)]


def test_utf8_without_bom_is_accepted():
    issued = parse(csv_bytes([B2_HEADER] + I1_ROWS, encoding="utf-8"))
    assert issued.encoding == "utf-8" and len(issued.ok_rows) == 2


def test_i11_short_and_long_rows_are_read_positionally():
    issued = parse(csv_bytes([b2_row("10001", T1, width=42), b2_row("10002", T2, width=98),
                              b2_row("10003", T3, width=4)]))
    assert pairs(issued) == [("10001", T1), ("10002", T2), ("10003", T3)]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_i12_blank_lines_and_any_line_ending(newline):
    data = csv_bytes([b2_row("10001", T1), [], [""] * 97, b2_row("10002", T2)], newline=newline)
    issued = parse(newline.encode() * 2 + data + newline.encode() * 3)
    assert pairs(issued) == [("10001", T1), ("10002", T2)]
    assert [r.line for r in issued.rows] == [3, 6]      # numbered as a spreadsheet shows them


def test_a_repeated_header_row_is_malformed():
    issued = parse(csv_bytes([B2_HEADER, b2_row("10001", T1), B2_HEADER, b2_row("10002", T2)]))
    assert [r.kind for r in issued.rows] == [RowKind.OK, RowKind.MALFORMED, RowKind.OK]
    assert "見出し行が繰り返されています" in issued.rows[1].message


def test_a_row_too_short_for_its_header_is_malformed():
    issued = parse(csv_bytes([B2_HEADER, b2_row("10001", T1), ["10002", "0", ""]],
                             quote_all=False))
    assert issued.rows[1].kind is RowKind.MALFORMED and "列数が3列" in issued.rows[1].message


def test_a_key_over_50_characters_or_with_a_line_break_is_malformed():
    issued = parse(csv_bytes([b2_row("10001", T1), b2_row("K" * 51, T2),
                              b2_row("100\r\n02", T3)]))
    assert [r.kind for r in issued.rows] == [RowKind.OK, RowKind.MALFORMED, RowKind.MALFORMED]
    assert [r.line for r in issued.rows] == [1, 2, 3]     # the quoted CR LF stays in its row


def test_line_breaks_inside_other_quoted_cells_do_not_split_rows():
    rows = [b2_row("10001", T1, name="山田\r\n花子"), b2_row("10002", T2, name="佐藤\r次郎")]
    assert pairs(parse(csv_bytes(rows))) == [("10001", T1), ("10002", T2)]


def test_cp932_only_characters_decode():
    # ① and 髙 are CP932 extensions: a strict Shift_JIS decoder would refuse the file.
    data = csv_bytes([b2_row("10001", T1, name="髙橋 ①")])
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")
    issued = parse(data)
    assert issued.encoding == "cp932" and pairs(issued) == [("10001", T1)]


def test_plain_shift_jis_decodes():
    data = csv_bytes([b2_row("10001", T1, name="高橋 花子")], encoding="shift_jis")
    assert pairs(parse(data)) == [("10001", T1)]


def test_formula_like_key_is_kept_as_text_for_matching_to_refuse():
    issued = parse(csv_bytes([b2_row('=HYPERLINK("http://x","y")', T1)]))
    assert issued.rows[0].kind is RowKind.OK and issued.rows[0].key.startswith("=HYPERLINK")


def test_a_dos_end_of_file_mark_is_ignored():
    assert pairs(parse(csv_bytes(I1_ROWS) + b"\x1a")) == [("10001", T1), ("10002", T2)]


# --------------------------------------------------------------------------- whole-file refusals


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"   \n", b"\x1a"])
def test_empty_file_is_refused(data):
    assert refusal(data).code == "empty"


def test_header_only_is_refused_as_empty():
    error = refusal(csv_bytes([B2_HEADER]))
    assert error.code == "empty" and "データ行がありません" in error.message


def test_too_large_bytes_are_refused_before_anything_else():
    error = refusal(b"\x00" * 2048, max_bytes=1024)
    assert error.code == "too_large" and error.message.startswith("ファイルが大きすぎます（上限 1KB）")


class UnseekableUpload(io.RawIOBase):
    """A 50 MB upload arriving as a stream: generates data lazily and counts what is read."""

    def __init__(self, size: int):
        self.size, self.served = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.served)
        buffer[:n] = b"1" * n
        self.served += n
        return n


class SeekableUpload(io.RawIOBase):
    """A 50 MB spooled upload: measurable, and it fails the test if anything reads it."""

    def __init__(self, size: int):
        self.size, self.position = size, 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer):
        raise AssertionError("the upload was read although its size was known")


def test_a_50mb_stream_is_refused_after_reading_one_byte_past_the_limit():
    upload = UnseekableUpload(50 * 1024 * 1024)
    with pytest.raises(FileRefused) as info:
        parse_issued(io.BufferedReader(upload), max_bytes=1024 * 1024)
    assert info.value.code == "too_large"
    assert upload.served <= 1024 * 1024 + 1 + io.DEFAULT_BUFFER_SIZE


def test_a_50mb_seekable_upload_is_refused_without_reading():
    upload = SeekableUpload(50 * 1024 * 1024)
    with pytest.raises(FileRefused) as info:
        read_limited(upload)                                   # default limit: 20 MB
    assert info.value.code == "too_large" and "20MB" in info.value.message


def test_a_stream_within_the_limit_is_read_from_its_position():
    stream = io.BytesIO(b"junk" + csv_bytes(I1_ROWS))
    stream.seek(4)
    assert pairs(parse_issued(stream)) == [("10001", T1), ("10002", T2)]


def test_zip_file_renamed_csv_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("b2.csv", csv_bytes(I1_ROWS))
    error = refusal(buffer.getvalue())
    assert error.code == "binary" and "ZIP形式" in error.message


@pytest.mark.parametrize("magic,what", [(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel（xls）"),
                                        (b"%PDF-1.7", "PDF"), (b"\x89PNG\r\n", "PNG")])
def test_other_binary_formats_are_named(magic, what):
    error = refusal(magic + b"\x00" * 100 + csv_bytes(I1_ROWS))
    assert error.code == "binary" and what in error.message


def test_nul_bytes_refuse_the_file():
    data = csv_bytes(I1_ROWS)
    error = refusal(data[:30] + b"\x00" + data[30:])
    assert error.code == "binary" and "NUL" in error.message


def test_random_binary_is_refused():
    error = refusal(bytes(range(1, 32)) * 50 + os.urandom(512).replace(b"\x00", b"\x01"))
    assert error.code in ("binary", "encoding")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_is_refused_by_name(encoding):
    error = refusal(csv_bytes(I1_ROWS, encoding=encoding))
    assert error.code == "encoding" and "UTF-16" in error.message


def test_undecodable_bytes_name_the_line():
    data = csv_bytes(I1_ROWS) + b'"10003","0","","' + T3.encode() + b'","\x81\x20"\r\n'
    error = refusal(data)
    assert error.code == "encoding" and "3行目付近" in error.message


def test_broken_utf8_after_a_bom_is_refused():
    error = refusal(codecs.BOM_UTF8 + csv_bytes(I1_ROWS, encoding="utf-8") + b"\xff\r\n")
    assert error.code == "encoding" and "UTF-8" in error.message


@pytest.mark.parametrize("first_row", [["a", "b", "c"], ["x"] * 201, ["x"] * 10_000])
def test_wrong_column_count_is_refused(first_row):
    error = refusal(csv_bytes([first_row, b2_row("10001", T1)]))
    assert error.code == "columns" and f"{len(first_row)}列" in error.message


def test_unterminated_quote_is_refused_with_its_line():
    data = csv_bytes(I1_ROWS) + b'"10003","0","","' + T3.encode() + b'\r\n"10004"\r\n'
    error = refusal(data)
    assert error.code == "csv_syntax" and "引用符" in error.message and "3行目付近" in error.message


def test_stray_quote_is_refused():
    error = refusal(csv_bytes(I1_ROWS) + b'"10003"x,"0","","' + T3.encode() + b'"\r\n')
    assert error.code == "csv_syntax" and "3行目付近" in error.message


def test_a_huge_cell_is_refused_not_buffered_forever():
    error = refusal(csv_bytes(I1_ROWS) + b'"10003","0","","' + b"1" * 200_000 + b'"\r\n')
    assert error.code == "csv_syntax" and "長すぎます" in error.message


def test_too_many_rows_is_refused():
    rows = [b2_row(f"1000{i}", T1) for i in range(6)]
    assert len(parse(csv_bytes(rows), max_rows=6).rows) == 6
    error = refusal(csv_bytes(rows), max_rows=5)
    assert error.code == "too_many_rows" and "5行" in error.message


def test_header_without_the_slip_column_is_refused():
    error = refusal(csv_bytes([["お客様管理番号", "送り状種類", "クール区分", "出荷予定日"],
                               ["10001", "0", "", "2026/07/01"]]))
    assert error.code == "header" and "1行目の見出しに「伝票番号」" in error.message


def test_our_own_export_uploaded_by_mistake_is_refused():
    export = csv_bytes([header_row(), b2_row("10001", ""), b2_row("10002", "")], quote_all=False)
    error = refusal(export)
    assert error.code == "no_tracking" and "B2出荷データ出力" in error.message


def test_a_file_resaved_by_a_spreadsheet_is_refused():
    error = refusal(csv_bytes([b2_row("10001", T1), b2_row("10002", "4.50102E+11")],
                              quote_all=False))
    assert error.code == "spreadsheet" and "2行目" in error.message and "指数表記" in error.message


def test_refusal_messages_are_japanese_sentences():
    for data in (b"", b"PK\x03\x04", csv_bytes([["a", "b"]])):
        message = refusal(data).message
        assert message.endswith("。") and "B2クラウド" in message


def test_parse_refuses_text_input():
    with pytest.raises(TypeError):
        parse_issued("10001,0,0,450102030405")


def test_a_file_without_any_key_is_refused():
    # e.g. slips issued from another tool that leaves お客様管理番号 empty (spec §6 "BS").
    error = refusal(csv_bytes([b2_row("", T1), b2_row("", T2)]))
    assert error.code == "no_key" and "お客様管理番号が1件も" in error.message

"""Property tests across the B2 package: export → (B2 issues slips) → import → match keeps every
key and every slip; the export never writes a cell B2 would refuse for its encoding, width or
layout; the parser never fails on arbitrary bytes except with a FileRefused."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st

from flask_kuroneko.b2 import (Cool, FileRefused, IssuedFile, SlipType, TimeSlot, build_export,
                               match, parse_issued)
from flask_kuroneko.b2.charset import is_machine_dependent
from flask_kuroneko.b2.layout import COLUMNS

from b2_support import SETTINGS, TODAY, issue, recipient, shipment

KEY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
keys = st.text(alphabet=KEY_CHARS, min_size=0, max_size=49).map(lambda tail: "K" + tail)
# Anything a customer could type or paste: every plane, controls, quotes, commas, formulas.
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
japanese = st.text(st.sampled_from(list("山田花子東京都港区芝公園ーｱｲｳｴｵ髙①𠮷〜\u00a0 ,\"'=+-@\r\n\t"
                                        "0123456789abc")), max_size=60)
text = st.one_of(any_text, japanese)
slip_types = st.sampled_from([SlipType.PREPAID, SlipType.NEKOPOS, SlipType.COMPACT,
                              SlipType.FREIGHT_COLLECT, SlipType.YU_PACKET, SlipType.MULTI_PARCEL])


@st.composite
def shipments(draw, key=None):
    slip_type = draw(slip_types)
    return shipment(
        key or draw(keys), slip_type=slip_type,
        ship_date=TODAY + timedelta(days=draw(st.integers(0, 30))),
        delivery_date=draw(st.none() | st.just(TODAY + timedelta(days=3))),
        time_slot=draw(st.none() | st.sampled_from([TimeSlot.MORNING, TimeSlot.H19_21])),
        cool=Cool.NORMAL if slip_type is not SlipType.PREPAID else draw(st.sampled_from(Cool)),
        parcels=draw(st.integers(2, 5)) if slip_type is SlipType.MULTI_PARCEL else 1,
        item_name=draw(text) or "品", item_name2=draw(text), note=draw(text),
        handling=tuple(draw(st.lists(text, max_size=2))),
        recipient=recipient(name=draw(text) or "名", address=draw(text) or "東京都",
                            building=draw(text), company=draw(text), name_kana=draw(text)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(shipments(), max_size=8))
def test_every_written_cell_is_one_b2_can_take(batch):
    result = build_export(batch, SETTINGS, today=TODAY)
    assert len(result.exported_keys) + len(result.rejected) == len(batch)
    text = result.data.decode("cp932")                 # the whole file encodes
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(result.exported_keys) + 1
    for row in rows[1:]:
        assert len(row) == 97
        for (name, limit), value in zip(COLUMNS, row):
            assert len(value.encode("cp932")) <= limit, (name, value)
            assert not any(c in value for c in "\r\n\t\x00"), (name, value)
            assert not value.startswith(("=", "+", "-", "@", "＝", "＋", "－", "＠")), (name, value)
    # Every visible change was reported: a machine-dependent character or a geta mark in the
    # file has a warning for its row and column (an address's warnings stay on お届け先住所
    # when its tail moved to the building column).
    flagged = {(w.row, w.column) for w in result.warnings}
    flagged |= {(w.row, 13) for w in result.warnings if w.kind == "moved"}
    rejected = {r.row for r in result.rejected}
    positions = [i for i in range(1, len(batch) + 1) if i not in rejected]
    for position, row in zip(positions, rows[1:]):
        for column, value in enumerate(row, start=1):
            if "〓" in value or any(is_machine_dependent(c) for c in value):
                assert (position, column) in flagged, (column, value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(keys, min_size=1, max_size=12, unique=True), st.data())
def test_export_issue_import_round_trips_keys_and_slips(key_list, data):
    batch = [data.draw(shipments(key=k)) for k in key_list]
    result = build_export(batch, SETTINGS, today=TODAY)
    if not result.exported_keys:
        return
    header = data.draw(st.booleans())
    encoding = data.draw(st.sampled_from(["cp932", "utf-8-sig"]))
    issued_bytes, issued = issue(result.data, header=header, encoding=encoding)
    parsed = parse_issued(issued_bytes)
    assert parsed.has_header is header
    assert all(r.kind.value == "ok" for r in parsed.rows)
    outcome = match(parsed, {k: f"payment:{k}" for k in result.exported_keys})
    assert {o.key: list(o.tracking_nos) for o in outcome.matched} == issued
    assert {o.key for o in outcome.matched} == set(result.exported_keys)
    assert all(o.target == f"payment:{o.key}" for o in outcome.matched)
    assert outcome.unknown == () and outcome.problems == ()
    assert parse_issued(issued_bytes) == parsed                 # same bytes, same result


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_are_refused(data):
    try:
        parsed = parse_issued(data)
    except FileRefused as exc:
        assert exc.message.endswith("。")
        return
    assert isinstance(parsed, IssuedFile) and parsed.rows


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(any_text, min_size=0, max_size=8), max_size=10))
def test_arbitrary_csv_parses_or_is_refused(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    try:
        parsed = parse_issued(out.getvalue().encode("utf-8"))
    except FileRefused:
        return
    for row in parsed.rows:
        assert row.kind.value == "ok" or row.message.startswith(f"{row.line}行目: ")

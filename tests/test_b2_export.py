"""「B2出荷データ出力」 (flask_kuroneko.b2.export / rows): the spec's export fixtures (b2-csv §12.1),
the golden file, rejections, warnings and settings checks."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from flask_kuroneko.b2 import (BillingAccount, Cool, ExportSettings, SettingsInvalid, SlipType,
                               TimeSlot, build_export, header_row, settings_problems,
                               summarize_items)
from flask_kuroneko.b2.layout import COLUMNS

from b2_support import SETTINGS, SHIPPER, TODAY, recipient, rows_of, shipment

GOLDEN = Path(__file__).parent / "data" / "b2_export_golden.csv"

SENDER_COLUMNS = {20: "03-1234-5678", 22: "150-0001", 23: "東京都渋谷区神宮前1-2-3",
                  24: "テストビル5F", 25: "テスト雑貨店", 40: "0312345678", 42: "01"}


def export(*shipments, settings=SETTINGS, today=TODAY):
    return build_export(list(shipments), settings, today=today)


def non_empty(row: list[str]) -> dict[int, str]:
    return {i: v for i, v in enumerate(row, start=1) if v}


def only_row(result) -> list[str]:
    assert not result.rejected, result.rejected
    [row] = rows_of(result.data)
    return row


def kinds(result, column=None) -> list[str]:
    return [w.kind for w in result.warnings if column is None or w.column == column]


# --------------------------------------------------------------------------- file format


def test_e1_standard_prepaid_with_time_slot_writes_exactly_the_spec_columns():
    result = export(shipment("10001", delivery_date=date(2026, 7, 3), time_slot=TimeSlot.MORNING))
    row = only_row(result)
    assert len(row) == 97
    assert non_empty(row) == {
        1: "10001", 2: "0", 3: "0", 5: "2026/07/01", 6: "2026/07/03", 7: "0812",
        9: "090-1111-2222", 11: "060-0001", 12: "北海道札幌市中央区北一条西2丁目1-1",
        13: "札幌テストマンション101号室", 16: "山田 花子", 28: "手ぬぐい（藍）", 38: "1",
        **SENDER_COLUMNS}
    assert result.warnings == ()
    assert result.exported_keys == ("10001",)


def test_file_is_cp932_with_crlf_and_the_official_header():
    result = export(shipment("10001"), shipment("10002"))
    assert result.data.count(b"\r\n") == 3 and result.data.endswith(b"\r\n")
    assert b"\n" not in result.data.replace(b"\r\n", b"")
    lines = result.data.split(b"\r\n")
    assert lines[0].decode("cp932").split(",") == [name for name, _ in COLUMNS]
    assert "山田 花子".encode("cp932") in result.data            # not UTF-8
    with pytest.raises(UnicodeDecodeError):
        result.data.decode("utf-8")


def test_without_header_and_with_95_columns():
    settings = replace(SETTINGS, header=False, columns=95)
    result = export(shipment("10001"), settings=settings)
    [row] = rows_of(result.data, header=False)
    assert len(row) == 95 and row[0] == "10001"
    assert header_row(95) == [name for name, _ in COLUMNS[:95]]
    with pytest.raises(ValueError):
        ExportSettings(SHIPPER, SETTINGS.billing, columns=96)


def test_no_shipments_gives_a_header_only_file():
    result = export()
    assert result.row_count == 0 and result.data.count(b"\r\n") == 1


def test_golden_file():
    """Byte for byte: header, 発払い with slot, ネコポス, 複数口, encoding traps, quoting."""
    result = export(
        shipment("10001", delivery_date=date(2026, 7, 3), time_slot=TimeSlot.MORNING),
        shipment("10003", slip_type=SlipType.NEKOPOS, item_name="ステッカー",
                 recipient=recipient(name="鈴木 一郎", phone="022-111-2222",
                                     postal_code="9800001", building="",
                                     address="宮城県仙台市青葉区中江1-1-1")),
        shipment("10006", slip_type=SlipType.MULTI_PARCEL, parcels=3, item_name="米 10kg",
                 handling=("ワレ物注意",), note="3個口"),
        shipment("10007", recipient=recipient(name="𠮷田 髙子", address="東京都港区芝公園4-2-8〜\u00a0A棟")),
        shipment("10009", recipient=recipient(address='東京都港区芝公園4-2-8 "A" 棟,3F', building=""),
                 note="置き配\r\n希望"))
    assert result.data == GOLDEN.read_bytes()
    assert [(w.row, w.column, w.kind) for w in result.warnings] == [
        (4, 16, "replaced"), (4, 16, "machine_dependent")]
    assert result.exported_keys == ("10001", "10003", "10006", "10007", "10009")


# --------------------------------------------------------------------------- spec fixtures


def test_e2_cool_prepaid_writes_the_cool_code_and_second_item():
    row = only_row(export(shipment("10002", cool=Cool.FROZEN, time_slot=TimeSlot.H19_21,
                                   item_name="冷凍餃子 30個", item_name2="冷凍焼売 20個")))
    assert (row[2], row[6], row[27], row[29]) == ("1", "1921", "冷凍餃子 30個", "冷凍焼売 20個")


@pytest.mark.parametrize("slip_type", [SlipType.COLLECT, SlipType.COMPACT_COLLECT])
def test_cash_on_delivery_slips_are_refused_for_deferred_payment_orders(slip_type):
    result = export(shipment("10002", slip_type=slip_type))
    [rejected] = result.rejected
    assert "後払いの注文には使えません" in rejected.problems[0]
    assert result.row_count == 0


def test_e3_nekopos_drops_date_and_time_slot_with_warnings():
    result = export(shipment("10003", slip_type=SlipType.NEKOPOS, item_name="ステッカー",
                             delivery_date=date(2026, 7, 3), time_slot=TimeSlot.MORNING))
    row = only_row(result)
    assert (row[1], row[2], row[5], row[6], row[37]) == ("A", "", "", "", "1")
    assert kinds(result) == ["dropped", "dropped"]
    assert "ネコポスでは配達時間帯を指定できない" in result.warnings[1].message
    assert result.warnings[1].column_name == "配達時間帯"


def test_e4_long_values_are_cut_with_warnings_and_an_address_moves_its_tail():
    long_name = "長" * 18
    long_address = "東京都千代田区" + "丸" * 33                       # 40 full-width, no building
    result = export(shipment("10004", item_name="品" * 30,
                             recipient=recipient(name=long_name, address=long_address,
                                                 building="")))
    row = only_row(result)
    assert row[15] == "長" * 16 and row[27] == "品" * 25
    assert row[11] + row[12] == long_address
    assert len(row[11].encode("cp932")) == 64 and row[12] == "丸" * 8
    by_column = {w.column: w for w in result.warnings}
    assert by_column[16].kind == "truncated" and "末尾の2文字" in by_column[16].message
    assert by_column[28].kind == "truncated" and "末尾の5文字" in by_column[28].message
    assert by_column[12].kind == "moved" and "「丸丸丸丸丸丸丸丸」" in by_column[12].message


def test_an_address_moves_at_a_space_when_the_building_then_fits():
    address = "北海道札幌市中央区北一条西二丁目一番地一号 グランドパレスサイドマンション"  # 73 bytes
    row = only_row(export(shipment(recipient=recipient(address=address, building=""))))
    assert (row[11], row[12]) == ("北海道札幌市中央区北一条西二丁目一番地一号",
                                  "グランドパレスサイドマンション")
    # With a room number the building no longer fits at the space: cut at the byte limit.
    row = only_row(export(shipment(recipient=recipient(address=address, building="101"))))
    assert len(row[11].encode("cp932")) == 63 and row[12] == "マンション 101"


def test_e4_address_and_building_both_overflowing_refuse_the_row():
    result = export(shipment("10004", recipient=recipient(address="東" * 40, building="ビ" * 10)))
    [rejected] = result.rejected
    assert "住所が長すぎます" in rejected.problems[0]
    result = export(shipment("10004", recipient=recipient(building="ビ" * 17)))
    assert "アパートマンション名が長すぎます" in result.rejected[0].problems[0]


def test_e5_temperature_split_is_two_rows_with_their_own_keys():
    result = export(shipment("10005-1", item_name="常温品"),
                    shipment("10005-2", item_name="冷凍品", cool=Cool.FROZEN))
    rows = rows_of(result.data)
    assert [(r[0], r[2], r[27]) for r in rows] == [("10005-1", "0", "常温品"),
                                                    ("10005-2", "1", "冷凍品")]


def test_e6_multi_parcel_is_one_row_with_count_frame_and_bundle_key():
    row = only_row(export(shipment("10006", slip_type=SlipType.MULTI_PARCEL, parcels=3)))
    assert (row[1], row[2], row[37], row[38], row[73]) == ("6", "", "3", "3", "10006")


@pytest.mark.parametrize("slip_type,parcels,message", [
    (SlipType.MULTI_PARCEL, 1, "2〜99個"), (SlipType.MULTI_PARCEL, 100, "2〜99個"),
    (SlipType.PREPAID, 2, "発払い（複数口）"), (SlipType.PREPAID, 0, "発払い（複数口）")])
def test_parcel_counts_outside_the_rules_are_refused(slip_type, parcels, message):
    result = export(shipment(slip_type=slip_type, parcels=parcels))
    assert message in result.rejected[0].problems[0]


def test_two_multi_parcel_rows_with_the_same_bundle_key_are_not_merged():
    result = export(shipment("A-1", slip_type=SlipType.MULTI_PARCEL, parcels=2),
                    shipment("A_1", slip_type=SlipType.MULTI_PARCEL, parcels=2))
    assert result.exported_keys == ("A-1",)
    assert "複数口くくりキー「A1」が1件目と同じ" in result.rejected[0].problems[0]


def test_e7_encoding_traps():
    result = export(shipment("10007", recipient=recipient(
        name="𠮷田 髙子", address="東京都港区芝公園4-2-8〜\u00a0A棟")))
    row = only_row(result)
    assert row[15] == "吉田 髙子"
    assert row[11] == "東京都港区芝公園4-2-8～ A棟"          # wave dash: the same CP932 code
    assert row[11].encode("cp932") == "東京都港区芝公園4-2-8〜 A棟".encode("cp932")
    messages = {(w.column, w.kind): w.message for w in result.warnings}
    assert messages[(16, "replaced")] == "「𠮷」を「吉」に置き換えました。"
    assert "「髙」は機種依存文字" in messages[(16, "machine_dependent")]
    assert [w.column for w in result.warnings] == [16, 16]    # NBSP and 〜: no visible change


@pytest.mark.parametrize("text,expected,kind", [
    ("\U0001F600ギフト", "〓ギフト", "unrepresentable"),          # emoji: no equivalent
    ("José", "Jose", "replaced"), ("①②", "①②", "machine_dependent"),
    ("㈱テスト", "㈱テスト", "machine_dependent"), ("繫", "繋", "replaced")])
def test_characters_outside_cp932_or_jis_are_reported(text, expected, kind):
    result = export(shipment(item_name=text))
    assert only_row(result)[27] == expected
    [warning] = result.warnings
    assert warning.kind == kind and warning.column == 28
    if kind == "unrepresentable":
        assert "「〓」に置き換えました" in warning.message


def test_e8_invalid_rows_are_rejected_and_the_others_written():
    result = export(shipment("10006"),
                    shipment("10007", recipient=recipient(phone="")),
                    shipment("10008", ship_date=date(2026, 8, 15)))
    assert result.exported_keys == ("10006",)
    assert [(r.row, r.customer_key) for r in result.rejected] == [(2, "10007"), (3, "10008")]
    assert result.rejected[0].problems == ("お届け先電話番号を入力してください。",)
    assert "2026/07/01〜2026/07/31" in result.rejected[1].problems[0]
    assert str(result.rejected[0]) == "2件目（10007）: お届け先電話番号を入力してください。"


def test_e9_commas_quotes_and_line_breaks():
    result = export(shipment(recipient=recipient(address='東京都港区芝公園4-2-8 "A" 棟,3F'),
                             note="置き配\r\n希望\tです"))
    assert '"東京都港区芝公園4-2-8 ""A"" 棟,3F"'.encode("cp932") in result.data
    row = only_row(result)
    assert row[11] == '東京都港区芝公園4-2-8 "A" 棟,3F' and row[32] == "置き配 希望 です"


# --------------------------------------------------------------------------- rules per row


def test_a_row_lists_every_problem_at_once():
    result = export(shipment("10010", recipient=recipient(phone="03-12", postal_code="12345",
                                                          name="", address="")))
    problems = result.rejected[0].problems
    assert len(problems) == 4
    assert any("お届け先電話番号は半角数字とハイフンで" in p for p in problems)
    assert any("お届け先郵便番号は7桁" in p for p in problems)
    assert "お届け先住所を入力してください。" in problems
    assert "お届け先名を入力してください。" in problems


@pytest.mark.parametrize("key", ["", "-123", "=1+1", "決済123", "a" * 51, "12 34", "12/34", None])
def test_customer_keys_must_be_plain_alphanumerics(key):
    result = export(shipment(key))
    assert "お客様管理番号は半角英数字" in result.rejected[0].problems[0]


def test_a_repeated_key_is_exported_once():
    result = export(shipment("10001"), shipment("10002"), shipment("10001"))
    assert result.exported_keys == ("10001", "10002")
    assert "1件目と重複" in result.rejected[0].problems[0] and result.rejected[0].row == 3


def test_ship_date_window_is_today_to_thirty_days():
    assert export(shipment(ship_date=TODAY + timedelta(days=30))).row_count == 1
    assert export(shipment(ship_date=TODAY - timedelta(days=1))).rejected
    assert export(shipment(ship_date=TODAY + timedelta(days=31))).rejected


def test_a_delivery_date_before_shipping_is_dropped_with_a_warning():
    result = export(shipment(ship_date=date(2026, 7, 5), delivery_date=date(2026, 7, 4)))
    assert only_row(result)[5] == ""
    assert "お客様と日程を確認" in result.warnings[0].message


def test_datetimes_are_refused_as_a_programming_error():
    with pytest.raises(TypeError, match="JST"):
        export(shipment(), today=datetime(2026, 7, 1, 9))
    with pytest.raises(TypeError, match="ship_date"):
        export(shipment(ship_date=datetime(2026, 7, 1, 9)))


def test_time_service_takes_only_its_own_slots():
    row = only_row(export(shipment(slip_type=SlipType.TIME, time_slot=TimeSlot.BY_10)))
    assert (row[1], row[6], row[2]) == ("4", "0010", "")
    assert export(shipment(slip_type=SlipType.TIME)).rejected
    assert export(shipment(slip_type=SlipType.TIME, time_slot=TimeSlot.MORNING)).rejected
    result = export(shipment(time_slot=TimeSlot.BY_17))
    assert "タイムの送り状でだけ" in result.rejected[0].problems[0]


@pytest.mark.parametrize("slip_type", [SlipType.NEKOPOS, SlipType.YU_PACKET, SlipType.COMPACT,
                                       SlipType.MULTI_PARCEL, SlipType.TIME, SlipType.EAZY])
def test_cool_goods_are_never_sent_without_cool(slip_type):
    result = export(shipment(slip_type=slip_type, cool=Cool.CHILLED, parcels=2
                             if slip_type is SlipType.MULTI_PARCEL else 1,
                             time_slot=TimeSlot.BY_10 if slip_type is SlipType.TIME else None,
                             notify_email="a@example.jp"))
    assert any("クール便" in p for p in result.rejected[0].problems)


def test_freight_collect_and_yu_mail_are_not_billed_to_the_shipper_contract():
    for slip_type in (SlipType.FREIGHT_COLLECT, SlipType.YU_MAIL):
        row = only_row(export(shipment(slip_type=slip_type)))
        assert row[39] == row[41] == ""
        assert row[24] == "テスト雑貨店"
    row = only_row(export(shipment(slip_type=SlipType.YU_MAIL, item_name="",
                                   recipient=recipient(phone=""))))
    assert (row[17], row[8], row[27]) == ("様", "", "")


def test_eazy_needs_the_notice_address():
    result = export(shipment(slip_type=SlipType.EAZY))
    assert "メールアドレスが必要" in result.rejected[0].problems[0]
    row = only_row(export(shipment(slip_type=SlipType.EAZY, notify_email="hanako@example.jp")))
    assert (row[1], row[47], row[48], row[49]) == ("1", "1", "hanako@example.jp", "1")
    assert export(shipment(slip_type=SlipType.EAZY, notify_email="=cmd@x.jp")).rejected


def test_notice_mail_is_written_only_where_b2_sends_it():
    row = only_row(export(shipment(notify_email="hanako@example.jp")))
    assert (row[47], row[48]) == ("1", "hanako@example.jp")
    row = only_row(export(shipment(slip_type=SlipType.NEKOPOS, notify_email="hanako@example.jp")))
    assert (row[47], row[48]) == ("", "")


def test_full_width_phone_and_postal_code_are_normalised():
    row = only_row(export(shipment(recipient=recipient(phone="０９０－１１１１－２２２２",
                                                       postal_code="〒０６０ー０００１"))))
    assert (row[8], row[10]) == ("090-1111-2222", "060-0001")


def test_kana_becomes_half_width_or_is_left_out():
    row = only_row(export(shipment(recipient=recipient(name_kana="やまだ　ハナコ"))))
    assert row[16] == "ﾔﾏﾀﾞ ﾊﾅｺ"
    result = export(shipment(recipient=recipient(name_kana="山田")))
    assert only_row(result)[16] == "" and kinds(result, 17) == ["dropped"]


def test_half_width_kana_in_an_address_becomes_full_width():
    row = only_row(export(shipment(recipient=recipient(building="ｻﾝﾊｲﾂ 101"))))
    assert row[12] == "サンハイツ 101"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+81 90", "@SUM(A1)", "-1",
                                  "＝１＋１"])
def test_formula_like_cells_are_neutralised_and_reported(text):
    result = export(shipment(item_name=text, recipient=recipient(name=text)))
    row = only_row(result)
    assert row[27] == "'" + text and row[15].startswith("'")
    assert kinds(result, 28) == ["formula"] and "「'」" in result.warnings[-1].message


def test_more_than_two_handling_labels_is_a_problem():
    assert export(shipment(handling=("a", "b", "c"))).rejected


def test_invalid_enum_values_are_problems_not_crashes():
    assert "送り状種類" in export(shipment(slip_type="Z")).rejected[0].problems[0]
    assert export(shipment(time_slot="1214")).rejected              # legacy code
    row = only_row(export(shipment(slip_type="A", time_slot=None)))  # plain codes accepted
    assert row[1] == "A"


# --------------------------------------------------------------------------- settings


def test_good_settings_have_no_problems():
    assert settings_problems(SETTINGS) == []


def test_bad_settings_refuse_the_export_listing_every_field():
    bad = ExportSettings(
        shipper=replace(SHIPPER, name="𠮷野家" + "店" * 20, phone="03", postal_code="",
                        address="=cmd", building="ビ" * 17, name_kana="漢字"),
        billing=BillingAccount(customer_code="123", class_code="1234", freight_no="1"))
    with pytest.raises(SettingsInvalid) as info:
        export(shipment(), settings=bad)
    fields = [p.field for p in info.value.problems]
    assert fields == ["shipper.name", "shipper.phone", "shipper.postal_code", "shipper.address",
                      "shipper.building", "shipper.name_kana", "billing.customer_code",
                      "billing.class_code", "billing.freight_no"]
    messages = dict((p.field, p.message) for p in info.value.problems)
    assert "使えない文字" in messages["shipper.name"]
    assert "先頭に" in messages["shipper.address"]
    assert "全角16文字" in messages["shipper.building"]
    assert "ご請求先顧客コードは半角数字10〜12桁" in messages["billing.customer_code"]
    assert "運賃管理番号は半角数字2桁" in messages["billing.freight_no"]
    assert settings_problems(bad) == list(info.value.problems)


def test_shipper_name_kana_is_written_half_width():
    settings = replace(SETTINGS, shipper=replace(SHIPPER, name_kana="テストザッカテン"))
    assert only_row(export(shipment(), settings=settings))[25] == "ﾃｽﾄｻﾞｯｶﾃﾝ"


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("names,expected", [
    ([], ("", "")), (["手ぬぐい"], ("手ぬぐい", "")), (["a", "b"], ("a", "b")),
    (["a", " ", "b", "c", "d"], ("a", "ほか3点")), (["x\ny"], ("x y", ""))])
def test_summarize_items(names, expected):
    assert summarize_items(names) == expected


def test_a_single_handling_label_may_be_given_as_text():
    row = only_row(export(shipment(handling="ワレ物注意")))
    assert (row[30], row[31]) == ("ワレ物注意", "")


def test_warning_columns_are_plain_numbers():
    [warning] = export(shipment(item_name="繫")).warnings
    assert type(warning.column) is int and warning.column == 28


def test_a_megabyte_address_is_rejected_not_processed_for_ever():
    result = export(shipment(recipient=recipient(address="東" * 1_000_000)))
    assert "住所が長すぎます" in result.rejected[0].problems[0]

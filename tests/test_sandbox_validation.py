"""Sandbox validation engine (spec §6.4, §4.10 and the error tables of §3)."""
from __future__ import annotations

import pytest

from flask_kuroneko.sandbox import MerchantConfig, Simulator, sandbox_session
from test_sandbox_support import (MERCHANT, NOW, authorize, basic_form, change_form,
                                  kaara_form, post, reissue_form, ship, slip_no)


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


def error_of(session, code, form):
    answer = post(session, code, form)
    assert answer["returnCode"] == "1", answer
    return answer["errorCode"]


KAARA_CASES = [
    # merchant code (w2 numbering)
    ({"ycfStrCode": None}, "kaara001E"),
    ({"ycfStrCode": "1234567890"}, "kaara002E"),
    ({"ycfStrCode": "1234567890a"}, "kaara003E"),
    ({"ycfStrCode": "99999999999"}, "kaara005E"),
    ({"orderNo": ""}, "kaara006E"),
    ({"orderNo": "T 0001"}, "kaara007E"),
    ({"orderNo": "Ｔ０００１"}, "kaara007E"),
    ({"orderNo": "A" * 21}, "kaara008E"),
    ({"orderYmd": None}, "kaara010E"),
    ({"orderYmd": "2024/1/1"}, "kaara011E"),
    ({"orderYmd": "240101"}, "kaara012E"),
    ({"orderYmd": "20240230"}, "kaara013E"),
    ({"shipYmd": None}, "kaara014E"),
    ({"shipYmd": "2024010a"}, "kaara015E"),
    ({"shipYmd": "202401050"}, "kaara016E"),
    ({"shipYmd": "20241301"}, "kaara017E"),
    ({"shipYmd": "20240331"}, "kaara018E"),     # request day 2024-01-01 + 90 = 03-31 is ok?
    ({"name": None}, "kaara019E"),
    ({"name": "Yamada Taro"}, "kaara020E"),
    ({"name": "山" * 31}, "kaara021E"),
    ({"name": "山田　①"}, "kaara022E"),
    ({"nameKana": "ヤマダ"}, "kaara023E"),
    ({"nameKana": "ｱ" * 81}, "kaara024E"),
    ({"postCode": None}, "kaara025E"),
    ({"postCode": "100-00O1"}, "kaara026E"),
    ({"postCode": "10-00-001"}, "kaara027E"),
    ({"postCode": "100001"}, "kaara028E"),
    ({"postCode": "0000000"}, "kaara029E"),
    ({"postCode": "1000-001"}, "kaara105E"),
    ({"address1": None}, "kaara030E"),
    ({"address1": "東京都千代田区1-1"}, "kaara031E"),
    ({"address1": "東京都" + "千" * 23}, "kaara032E"),
    ({"address1": "東京都千代田区㈱１番"}, "kaara033E"),
    ({"address1": "千代田区千代田１番"}, "kaara034E"),
    ({"address2": "ビル 1F"}, "kaara035E"),
    ({"address2": "ビ" * 26}, "kaara036E"),
    ({"address2": "ビル～１"}, "kaara037E"),
    ({"telNum": None}, "kaara038E"),
    ({"telNum": "03(1234)5678"}, "kaara039E"),
    ({"telNum": "031234567"}, "kaara040E"),
    ({"telNum": "0312345678", "sendDiv": "3"}, "kaara040E"),   # SMS needs a mobile number
    ({"telNum": "1312345678"}, "kaara093E"),
    ({"email": "ｍａｉｌ@example.jp"}, "kaara043E"),
    ({"email": "a" * 60 + "@x.jp"}, "kaara044E"),
    ({"email": "mail.example.jp"}, "kaara045E"),
    ({"totalAmount": None}, "kaara046E"),
    ({"totalAmount": "1,100"}, "kaara047E"),
    ({"totalAmount": "1000000"}, "kaara048E"),
    ({"totalAmount": "0"}, "kaara049E"),
    ({"sendDiv": None}, "kaara050E"),
    ({"sendDiv": "a"}, "kaara051E"),
    ({"sendDiv": "2"}, "kaara052E"),
    ({"itemName1": "Item"}, "kaara054E"),
    ({"itemName1": "商" * 31}, "kaara055E"),
    ({"itemName1": "商品Ⅱ"}, "kaara056E"),
    ({"itemName1": None}, "kaara057E"),
    ({"itemCount1": "1.5"}, "kaara058E"),
    ({"itemCount1": "10000"}, "kaara059E"),
    ({"unitPrice1": "1,100"}, "kaara060E"),
    ({"unitPrice1": "1000000"}, "kaara061E"),
    ({"unitPrice1": "-1000000"}, "kaara062E"),
    ({"subTotal1": "11OO"}, "kaara063E"),
    ({"subTotal1": "1100-"}, "kaara063E"),
    ({"subTotal1": "1000000"}, "kaara064E"),
    ({"subTotal1": "-1000000"}, "kaara065E"),
    ({"sendName": "Hanako"}, "kaara066E"),
    ({"sendName": "花" * 31}, "kaara067E"),
    ({"sendName": "花子㈱"}, "kaara068E"),
    ({"sendPostCode": "100_0001"}, "kaara070E"),
    ({"sendPostCode": "1-000-001"}, "kaara071E"),
    ({"sendPostCode": "10000011"}, "kaara072E"),
    ({"sendPostCode": "9999999"}, "kaara073E"),
    ({"sendPostCode": "10000-01"}, "kaara106E"),
    ({"sendAddress1": "大阪府 1"}, "kaara075E"),
    ({"sendAddress1": "大阪府" + "大" * 23}, "kaara076E"),
    ({"sendAddress1": "大阪府大阪市①"}, "kaara077E"),
    ({"sendAddress1": "大阪市北区１番"}, "kaara078E"),
    ({"sendAddress2": "abc"}, "kaara079E"),
    ({"sendAddress2": "あ" * 26}, "kaara080E"),
    ({"sendAddress2": "ビル∥１"}, "kaara081E"),
    ({"sendTelNum": "06 1234 5678"}, "kaara082E"),
    ({"sendTelNum": "06-12345678"}, "kaara083E"),
    ({"sendTelNum": "06-1234-567"}, "kaara084E"),
    ({"sendTelNum": "16-1234-5678"}, "kaara094E"),
    ({"requestDate": None}, "kaara086E"),
    ({"requestDate": "2024-01-01 12"}, "kaara087E"),
    ({"requestDate": "202401011200"}, "kaara088E"),
    ({"requestDate": "20240101250000"}, "kaara089E"),
    ({"password": None}, "kaara090E"),
    ({"password": "test-pass"}, "kaara091E"),
    ({"password": "wrongpass"}, "kaara092E"),
    ({"billPostCode": "メモ①"}, "kaara095E"),
    ({"billPostCode": "メモ!"}, "kaara095E"),
    ({"billPostCode": "あ" * 21}, "kaara096E"),
    ({"shipYmd": "20231231"}, "kaara100E"),
    ({"subTotal1": "1000"}, "kaara101E"),
    ({"sendDiv": "1"}, "kaara102E"),
    ({"address1": "東京都港区芝公園"}, "kaara103E"),
    ({"sendDiv": "1", "sendName": "山田　花子", "sendPostCode": "5300001",
      "sendAddress1": "大阪府大阪市北区梅田"}, "kaara104E"),
]


@pytest.mark.parametrize("overrides, expected", KAARA_CASES,
                         ids=[c[1] + "-" + "-".join(c[0]) for c in KAARA_CASES])
def test_kaara_field_errors(sandbox_session, simulator, overrides, expected):
    if expected == "kaara018E":
        overrides = {"shipYmd": "20240401"}  # 2024-01-01 + 90 days = 2024-03-31
    assert error_of(sandbox_session, "KAARA0010", kaara_form(**overrides)) == expected
    assert simulator.transactions() == []


def test_kaara_ninety_day_window_edge(sandbox_session):
    assert authorize(sandbox_session, shipYmd="20240331")["returnCode"] == "0"


def test_kaara_accepts_full_valid_request(sandbox_session, simulator):
    form = kaara_form(nameKana="ﾔﾏﾀﾞ ﾀﾛｳ", postCode="100-0001", address2="千代田ビル１０１",
                      telNum="03-1234-5678", email="taro@example.jp", totalAmount="3100",
                      itemName1="テスト商品", itemCount1="2", unitPrice1="1500",
                      subTotal1="3000", itemName2="送料", subTotal2="300",
                      itemName3="ポイント値引き", subTotal3="-200", sendDiv="1",
                      sendName="山田　花子", sendPostCode="530-0001",
                      sendAddress1="大阪府大阪市北区梅田１丁目", sendTelNum="06-1234-5678",
                      billPostCode="メモ_abc", cartCode="flask", fraudbuster="2",
                      unknownParam="ignored")
    answer = post(sandbox_session, "KAARA0010", form)
    assert (answer["returnCode"], answer["result"]) == ("0", "0")
    tx = simulator.transaction(MERCHANT, "T0001")
    assert [line["subTotal"] for line in tx["items"]] == ["3000", "300", "-200"]
    assert tx["delivery"]["sendName"] == "山田　花子"
    assert "password" not in tx["request"]


def test_kaara_empty_optional_fields_are_absent(sandbox_session):
    form = kaara_form(nameKana="", address2="", email="", sendName="", sendPostCode="",
                      sendAddress1="", sendTelNum="", billPostCode="", itemCount1="",
                      unitPrice1="")
    assert post(sandbox_session, "KAARA0010", form)["result"] == "0"


def test_one_error_lowest_code_first(sandbox_session):
    form = kaara_form(name="Taro", telNum="abc", password="wrong")
    assert error_of(sandbox_session, "KAARA0010", form) == "kaara020E"


def test_relational_after_field_checks(sandbox_session):
    # kaara101E (sum mismatch) would come first by number-free order, but field errors win
    form = kaara_form(subTotal1="1000", requestDate="x")
    assert error_of(sandbox_session, "KAARA0010", form) == "kaara087E"
    form = kaara_form(subTotal1="1000", postCode="1000-001")
    assert error_of(sandbox_session, "KAARA0010", form) == "kaara105E"


def test_state_after_format(sandbox_session):
    authorize(sandbox_session)
    assert error_of(sandbox_session, "KAARA0010", kaara_form(subTotal1="1")) == "kaara101E"
    assert error_of(sandbox_session, "KAARA0010", kaara_form()) == "kaara009E"


def test_item_subtotal_missing_counts_as_zero(sandbox_session):
    form = kaara_form(itemName2="おまけ", itemCount2="1")
    assert post(sandbox_session, "KAARA0010", form)["result"] == "0"
    form = kaara_form("T0002", subTotal1="1000", itemName2="送料", subTotal2="100")
    assert post(sandbox_session, "KAARA0010", form)["result"] == "0"


@pytest.mark.parametrize("overrides, w2, eccube", [
    ({"ycfStrCode": None}, "kaara001E", "kaara001E"),
    ({"ycfStrCode": "1234567890"}, "kaara002E", "kaara003E"),
    ({"ycfStrCode": "abcdefghijk"}, "kaara003E", "kaara002E"),
    ({"ycfStrCode": "99999999999"}, "kaara005E", "kaara004E"),
])
def test_error_numbering_variants(overrides, w2, eccube):
    for numbering, expected in (("w2", w2), ("eccube", eccube)):
        sim = Simulator(merchants={MERCHANT: MerchantConfig(error_numbering=numbering)})
        sim.set_now(NOW)
        session = sandbox_session(sim)
        assert error_of(session, "KAARA0010", kaara_form(**overrides)) == expected


def test_disabled_merchant_both_variants():
    for numbering in ("w2", "eccube"):
        sim = Simulator(merchants={MERCHANT: MerchantConfig(usable=False,
                                                            error_numbering=numbering)})
        assert error_of(sandbox_session(sim), "KAARA0010", kaara_form()) == "kaara005E"


def test_bundle_contract_sendDiv_codes():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(contracts={"bundle": True,
                                                                   "smartphone": False})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    assert error_of(session, "KAARA0010", kaara_form(sendDiv="3",
                                                     telNum="09012345678")) == "kaara053E"
    assert post(session, "KAARA0010", kaara_form(sendDiv="2"))["result"] == "0"


def test_sendDiv_4_needs_its_contract(sandbox_session):
    assert error_of(sandbox_session, "KAARA0010", kaara_form(sendDiv="4")) == "kaara052E"


def test_name_kana_limit_is_configurable():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(name_kana_max=40)})
    sim.set_now(NOW)
    assert error_of(sandbox_session(sim), "KAARA0010",
                    kaara_form(nameKana="ｱ" * 41)) == "kaara024E"


def test_mobile_prefixes_need_eleven_digits(sandbox_session):
    assert error_of(sandbox_session, "KAARA0010", kaara_form(telNum="0901234567")) == "kaara040E"
    assert authorize(sandbox_session, "T0002", telNum="050-1234-5678")["result"] == "0"


# --------------------------------------------------------------------------- short APIs

SHORT_CASES = [
    ("KAAST0010", {"ycfStrCode": "123"}, "kaast002E"),
    ("KAAST0010", {"ycfStrCode": "1234567890x"}, "kaast003E"),
    ("KAAST0010", {"ycfStrCode": None}, "kaast004E"),
    ("KAAST0010", {"orderNo": "A" * 21}, "kaast005E"),
    ("KAAST0010", {"orderNo": "注文1"}, "kaast006E"),
    ("KAAST0010", {"orderNo": None}, "kaast007E"),
    ("KAAST0010", {"requestDate": "20241399000000"}, "kaast009E"),
    ("KAAST0010", {"requestDate": "2024-01-01"}, "kaast010E"),
    ("KAAST0010", {"requestDate": None}, "kaast011E"),
    ("KAAST0010", {"password": "nope"}, "kaast012E"),
    ("KAAST0010", {"password": None}, "kaast013E"),
    ("KAAST0010", {"orderNo": "T.0001"}, "kaast014E"),
    ("KAAST0010", {"ycfStrCode": "99999999999"}, "kaast015E"),
    ("KAARS0010", {"ycfStrCode": "123"}, "kaars002E"),
    ("KAARS0010", {"ycfStrCode": None}, "kaars004E"),
    ("KAARS0010", {"orderNo": "A" * 21}, "kaars005E"),
    ("KAARS0010", {"orderNo": "注文"}, "kaars006E"),
    ("KAARS0010", {"orderNo": None}, "kaars007E"),
    ("KAARS0010", {"requestDate": "20240101999999"}, "kaars009E"),
    ("KAARS0010", {"requestDate": "x"}, "kaars010E"),
    ("KAARS0010", {"requestDate": None}, "kaars011E"),
    ("KAARS0010", {"password": "nope"}, "kaars012E"),
    ("KAARS0010", {"password": None}, "kaars013E"),
    ("KAARS0010", {"orderNo": "T#1"}, "kaars014E"),
    ("KAACL0010", {"ycfStrCode": "123"}, "kaacl002E"),
    ("KAACL0010", {"ycfStrCode": "abcdefghijk"}, "kaacl003E"),
    ("KAACL0010", {"ycfStrCode": None}, "kaacl004E"),
    ("KAACL0010", {"orderNo": "A" * 21}, "kaacl005E"),
    ("KAACL0010", {"orderNo": "注文"}, "kaacl006E"),
    ("KAACL0010", {"orderNo": None}, "kaacl007E"),
    ("KAACL0010", {"requestDate": "20240101246000"}, "kaacl010E"),
    ("KAACL0010", {"requestDate": "abc"}, "kaacl011E"),
    ("KAACL0010", {"requestDate": None}, "kaacl012E"),
    ("KAACL0010", {"password": "nope"}, "kaacl013E"),
    ("KAACL0010", {"password": None}, "kaacl014E"),
    ("KAACL0010", {"orderNo": "T/1"}, "kaacl016E"),
    ("KAACL0010", {"ycfStrCode": "99999999999"}, "kaacl017E"),
    ("KAASD0010", {"ycfStrCode": None}, "kaasd002E"),
    ("KAASD0010", {"ycfStrCode": "123"}, "kaasd003E"),
    ("KAASD0010", {"ycfStrCode": "abcdefghijk"}, "kaasd004E"),
    ("KAASD0010", {"orderNo": None}, "kaasd005E"),
    ("KAASD0010", {"orderNo": "A" * 21}, "kaasd006E"),
    ("KAASD0010", {"orderNo": "注文"}, "kaasd007E"),
    ("KAASD0010", {"requestDate": None}, "kaasd011E"),
    ("KAASD0010", {"requestDate": "abc"}, "kaasd012E"),
    ("KAASD0010", {"requestDate": "20240101"}, "kaasd013E"),
    ("KAASD0010", {"password": None}, "kaasd014E"),
    ("KAASD0010", {"password": "nope"}, "kaasd015E"),
    ("KAASD0010", {"orderNo": "T_0001"}, "kaasd016E"),   # KAASD's charset has no "_"
    ("KAASD0010", {"ycfStrCode": "99999999999"}, "kaasd019E"),
]


@pytest.mark.parametrize("code, overrides, expected", SHORT_CASES,
                         ids=[c[2] for c in SHORT_CASES])
def test_short_api_field_errors(sandbox_session, code, overrides, expected):
    authorize(sandbox_session)
    assert error_of(sandbox_session, code, basic_form(**overrides)) == expected


def test_strict_mode_layout_error():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(strict_params=True)})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session)
    assert error_of(session, "KAAST0010", basic_form(extra="1")) == "kaast001E"
    assert error_of(session, "KAACL0010", basic_form(extra="1")) == "kaacl001E"
    assert post(session, "KAAST0010", basic_form())["result"] == "1"


def test_lenient_mode_ignores_unknown_parameters(sandbox_session):
    authorize(sandbox_session)
    assert post(sandbox_session, "KAAST0010", basic_form(extra="1"))["result"] == "1"


# --------------------------------------------------------------------------- KAASL

KAASL_CASES = [
    ({"processDiv": None}, "kaasl019E"),
    ({"processDiv": "3"}, "kaasl019E"),
    ({"paymentNo": "4" * 13}, "kaasl010E"),
    ({"paymentNo": None}, "kaasl011E"),
    ({"paymentNo": "4000-000:001"}, "kaasl012E"),
    ({"paymentNo": "400000000014"}, "kaasl014E"),
    ({"paymentNo": "000000000070"}, "kaasl015E"),
    ({"processDiv": "9"}, "kaasl013E"),
    ({"processDiv": "2", "paymentNo": "ORDER#1"}, "kaasl044E"),
    ({"shipYmd": "20240132"}, "kaasl023E"),
    ({"shipYmd": "2024013a"}, "kaasl024E"),
    ({"processDiv": "1", "beforePaymentNo": "400000000013"}, "kaasl025E"),
    ({"shipYmd": "20231231"}, "kaasl027E"),
    ({"shipYmd": "20240501"}, "kaasl042E"),
    ({"password": "nope"}, "kaasl036E"),
    ({"password": None}, "kaasl037E"),
    ({"requestDate": "20240101"}, "kaasl033E"),
    ({"requestDate": "x"}, "kaasl034E"),
    ({"requestDate": None}, "kaasl035E"),
    ({"orderNo": "T.1"}, "kaasl038E"),
    ({"ycfStrCode": "99999999999"}, "kaasl041E"),
    ({"ycfStrCode": "123"}, "kaasl002E"),
    ({"orderNo": "注文"}, "kaasl006E"),
]


@pytest.mark.parametrize("overrides, expected", KAASL_CASES, ids=[c[1] for c in KAASL_CASES])
def test_kaasl_errors(sandbox_session, overrides, expected):
    authorize(sandbox_session)
    form = basic_form(processDiv="0", paymentNo=slip_no(1))
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    assert error_of(sandbox_session, "KAASL0010", form) == expected


def test_kaasl_cancel_rejects_ship_date_and_before_slip(sandbox_session):
    authorize(sandbox_session)
    ship(sandbox_session)
    form = basic_form(processDiv="9", shipYmd="20240105")
    assert error_of(sandbox_session, "KAASL0010", form) == "kaasl026E"
    form = basic_form(processDiv="9", beforePaymentNo=slip_no(1))
    assert error_of(sandbox_session, "KAASL0010", form) == "kaasl031E"


def test_kaasl_other_carrier_needs_no_check_digit(sandbox_session, simulator):
    authorize(sandbox_session)
    answer = post(sandbox_session, "KAASL0010",
                  basic_form(processDiv="2", paymentNo="SAGAWA-0001"))
    assert answer["returnCode"] == "0"
    assert simulator.transaction(MERCHANT, "T0001")["slips"][0]["paymentNo"] == "SAGAWA-0001"


def test_kaasl_hyphenated_yamato_slip(sandbox_session, simulator):
    authorize(sandbox_session)
    slip = slip_no(5)
    hyphenated = f"{slip[:4]}-{slip[4:8]}-{slip[8:]}"
    assert len(hyphenated) > 12
    assert error_of(sandbox_session, "KAASL0010",
                    basic_form(processDiv="0", paymentNo=hyphenated)) == "kaasl010E"
    assert ship(sandbox_session, slip=f"{slip[:4]}-{slip[4:]}")["returnCode"] == "1"
    # 13 characters is too long: hyphens only fit when the slip itself is shorter


# --------------------------------------------------------------------------- KAAKK

KAAKK_CASES = [
    ({"ycfStrCode": None}, "kaakk001E"),
    ({"ycfStrCode": "abcdefghijk"}, "kaakk002E"),
    ({"ycfStrCode": "123"}, "kaakk003E"),
    ({"ycfStrCode": "99999999999"}, "kaakk004E"),
    ({"orderNo": None}, "kaakk005E"),
    ({"orderNo": "-T0001"}, "kaakk006E"),
    ({"orderNo": "T0001_"}, "kaakk006E"),
    ({"orderNo": "A" * 21}, "kaakk007E"),
    ({"shipYmd": "2024010x"}, "kaakk013E"),
    ({"shipYmd": "2024010"}, "kaakk014E"),
    ({"shipYmd": "20240230"}, "kaakk015E"),
    ({"postCode": None}, "kaakk018E"),
    ({"postCode": "100 0001"}, "kaakk019E"),
    ({"postCode": "10000"}, "kaakk020E"),
    ({"postCode": "1-00-0001"}, "kaakk021E"),
    ({"postCode": "0000000"}, "kaakk022E"),
    ({"address1": None}, "kaakk023E"),
    ({"address1": "東京都千代田区①"}, "kaakk024E"),
    ({"address1": "東京都chiyoda1"}, "kaakk025E"),
    ({"address1": "東京都" + "千" * 23}, "kaakk026E"),
    ({"address1": "千代田区千代田１番"}, "kaakk027E"),
    ({"address2": "ビル①"}, "kaakk028E"),
    ({"address2": "bldg"}, "kaakk029E"),
    ({"address2": "ビ" * 26}, "kaakk030E"),
    ({"address1": "東京都港区芝公園", "address2": "ビル"}, "kaakk031E"),
    ({"itemName1": None}, "kaakk032E"),
    ({"itemName1": "商品①"}, "kaakk033E"),
    ({"itemName1": "item"}, "kaakk034E"),
    ({"itemName1": "商" * 31}, "kaakk035E"),
    ({"itemCount1": "x"}, "kaakk036E"),
    ({"itemCount1": "12345"}, "kaakk037E"),
    ({"unitPrice1": "1.5"}, "kaakk038E"),
    ({"unitPrice1": "100-"}, "kaakk039E"),
    ({"unitPrice1": "1234567"}, "kaakk040E"),
    ({"unitPrice1": "-1234567"}, "kaakk041E"),
    ({"subTotal1": "x"}, "kaakk042E"),
    ({"subTotal1": "10-00"}, "kaakk043E"),
    ({"subTotal1": "1234567"}, "kaakk044E"),
    ({"subTotal1": "-1234567"}, "kaakk045E"),
    ({"totalAmount": None}, "kaakk046E"),
    ({"totalAmount": "1e3"}, "kaakk047E"),
    ({"totalAmount": "1234567"}, "kaakk048E"),
    ({"subTotal1": "900"}, "kaakk051E"),
    ({"sendDiv": "x"}, "kaakk053E"),
    ({"sendDiv": "5"}, "kaakk054E"),
    ({"sendDiv": "1"}, "kaakk055E"),
    ({"billPostCode": "メモ①"}, "kaakk056E"),
    ({"billPostCode": "メモ!"}, "kaakk057E"),
    ({"billPostCode": "a" * 41}, "kaakk058E"),
    ({"password": None}, "kaakk059E"),
    ({"password": "toolongpw"}, "kaakk060E"),
    ({"password": "testpas"}, "kaakk061E"),
    ({"requestDate": None}, "kaakk062E"),
    ({"requestDate": "x"}, "kaakk063E"),
    ({"requestDate": "2024010112"}, "kaakk064E"),
    ({"requestDate": "20240101126100"}, "kaakk065E"),
]


@pytest.mark.parametrize("overrides, expected", KAAKK_CASES,
                         ids=[c[1] + "-" + "-".join(c[0]) for c in KAAKK_CASES])
def test_kaakk_field_errors(sandbox_session, overrides, expected):
    authorize(sandbox_session)
    assert error_of(sandbox_session, "KAAKK0010", change_form(**overrides)) == expected


def test_kaakk_without_amount_change_contract():
    sim = Simulator(merchants={MERCHANT: MerchantConfig(contracts={"amount_change": False})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session)
    assert error_of(session, "KAAKK0010", change_form()) == "kaakk004E"


# --------------------------------------------------------------------------- KAARR

KAARR_CASES = [
    ({"ycfStrCode": None}, "kaarr001E"),
    ({"ycfStrCode": "abcdefghijk"}, "kaarr002E"),
    ({"ycfStrCode": "123"}, "kaarr003E"),
    ({"ycfStrCode": "99999999999"}, "kaarr004E"),
    ({"orderNo": None}, "kaarr005E"),
    ({"orderNo": "T 1"}, "kaarr006E"),
    ({"orderNo": "A" * 21}, "kaarr007E"),
    ({"password": None}, "kaarr010E"),
    ({"password": "pass word"}, "kaarr011E"),
    ({"password": "nope"}, "kaarr012E"),
    ({"requestContents": None}, "kaarr013E"),
    ({"requestContents": "2"}, "kaarr014E"),
    ({"reasonReissue": None}, "kaarr018E"),
    ({"reasonReissue": "7"}, "kaarr019E"),
    ({"reasonReissueEtc": None}, "kaarr020E"),
    ({"reasonReissueEtc": "不明①"}, "kaarr021E"),
    ({"reasonReissueEtc": "unknown"}, "kaarr022E"),
    ({"reasonReissueEtc": "不" * 26}, "kaarr023E"),
    ({"shipYmd": "2024010x"}, "kaarr025E"),
    ({"shipYmd": "202401"}, "kaarr026E"),
    ({"shipYmd": "20240231"}, "kaarr027E"),
    ({"sendDiv": "x"}, "kaarr031E"),
    ({"sendDiv": "7"}, "kaarr032E"),
    ({"sendDiv": "1"}, "kaarr033E"),
    ({"postCode": None}, "kaarr034E"),
    ({"postCode": "100 0001"}, "kaarr035E"),
    ({"postCode": "100000"}, "kaarr036E"),
    ({"postCode": "1-000-001"}, "kaarr037E"),
    ({"postCode": "9999999"}, "kaarr038E"),
    ({"address1": None}, "kaarr039E"),
    ({"address1": "東京都1"}, "kaarr040E"),
    ({"address1": "東京都千代田区①"}, "kaarr041E"),
    ({"address1": "東京都" + "千" * 23}, "kaarr042E"),
    ({"address1": "千代田区１番"}, "kaarr043E"),
    ({"address2": "b"}, "kaarr044E"),
    ({"address2": "ビル①"}, "kaarr045E"),
    ({"address2": "ビ" * 26}, "kaarr046E"),
    ({"address1": "東京都港区芝公園"}, "kaarr047E"),
    ({"itemName1": None}, "kaarr048E"),
    ({"itemName1": "item"}, "kaarr049E"),
    ({"itemName1": "商品①"}, "kaarr050E"),
    ({"itemName1": "商" * 31}, "kaarr051E"),
    ({"itemCount1": "x"}, "kaarr052E"),
    ({"itemCount1": "99999"}, "kaarr053E"),
    ({"unitPrice1": "x"}, "kaarr054E"),
    ({"unitPrice1": "5-"}, "kaarr055E"),
    ({"unitPrice1": "1234567"}, "kaarr056E"),
    ({"unitPrice1": "-1234567"}, "kaarr057E"),
    ({"billPostCode": "メモ"}, "kaarr058E"),
    ({"subTotal1": "x"}, "kaarr063E"),
    ({"subTotal1": "5-"}, "kaarr064E"),
    ({"subTotal1": "1234567"}, "kaarr065E"),
    ({"subTotal1": "-1234567"}, "kaarr066E"),
]


@pytest.mark.parametrize("overrides, expected", KAARR_CASES,
                         ids=[c[1] + "-" + "-".join(c[0]) for c in KAARR_CASES])
def test_kaarr_field_errors(sandbox_session, overrides, expected):
    authorize(sandbox_session)
    assert error_of(sandbox_session, "KAARR0010", reissue_form(**overrides)) == expected


@pytest.mark.parametrize("overrides, expected", [
    ({"billPostCode": "メモ①"}, "kaarr059E"),
    ({"billPostCode": "メモ!"}, "kaarr060E"),
    ({"billPostCode": "あ" * 21}, "kaarr061E"),
])
def test_kaarr_free_item_with_bundle_contract(overrides, expected):
    sim = Simulator(merchants={MERCHANT: MerchantConfig(contracts={"bundle": True})})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    authorize(session)
    assert error_of(session, "KAARR0010", reissue_form(**overrides)) == expected


# --------------------------------------------------------------------------- KAASA

KAASA_CASES = [
    ({"ycfStrCode": None}, "kaasa001E"),
    ({"ycfStrCode": "abcdefghijk"}, "kaasa002E"),
    ({"ycfStrCode": "123"}, "kaasa003E"),
    ({"ycfStrCode": "99999999999"}, "kaasa004E"),
    ({"orderNo": None}, "kaasa006E"),
    ({"orderNo": "T 1"}, "kaasa007E"),
    ({"ninCode": None}, "kaasa010E"),
    ({"ninCode": "12a4"}, "kaasa011E"),
    ({"ninCode": "12345"}, "kaasa012E"),
    ({"requestDate": None}, "kaasa013E"),
    ({"requestDate": "x"}, "kaasa014E"),
    ({"requestDate": "202401011200001"}, "kaasa015E"),
    ({"requestDate": "20240101120099"}, "kaasa016E"),
    ({"password": None}, "kaasa017E"),
    ({"password": "pass-wd"}, "kaasa018E"),
    ({"password": "testpass9"}, "kaasa023E"),
    ({"password": "testpas"}, "kaasa024E"),
    ({"orderNo": "NOPE"}, "kaasa020E"),
]


@pytest.mark.parametrize("overrides, expected", KAASA_CASES, ids=[c[1] for c in KAASA_CASES])
def test_kaasa_errors(sandbox_session, overrides, expected):
    authorize(sandbox_session, sendDiv="3", telNum="09012345678")
    form = basic_form(ninCode="1234")
    form.update(overrides)
    form = {k: v for k, v in form.items() if v is not None}
    assert error_of(sandbox_session, "KAASA0020", form) == expected


def test_postcode_file_defines_existing_codes(tmp_path):
    ken_all = tmp_path / "KEN_ALL.CSV"
    ken_all.write_bytes('13101,"100  ","1000001","ﾄｳｷｮｳﾄ","ﾁﾖﾀﾞｸ","ﾁﾖﾀﾞ","東京都","千代田区","千代田"\n'
                        .encode("cp932"))
    sim = Simulator(merchants={MERCHANT: MerchantConfig(postcode_file=str(ken_all))})
    sim.set_now(NOW)
    session = sandbox_session(sim)
    assert post(session, "KAARA0010", kaara_form())["result"] == "0"
    assert error_of(session, "KAARA0010", kaara_form("T0002", postCode="1000002")) == "kaara029E"

"""Sandbox state model (spec §6.5), triggers and credit limit (§6.6), and §6.11 verbatim."""
from __future__ import annotations

import pytest

from flask_kuroneko.sandbox import MerchantConfig, Simulator, sandbox_session
from test_sandbox_support import (MERCHANT, NOW, authorize, basic_form, change_form, post,
                                  reissue_form, ship, slip_no, status_of)


@pytest.fixture(autouse=True)
def frozen(simulator):
    simulator.set_now(NOW)


def make_session(**config):
    sim = Simulator(merchants={MERCHANT: MerchantConfig(**config)})
    sim.set_now(NOW)
    return sim, sandbox_session(sim)


def err(answer):
    assert answer["returnCode"] == "1", answer
    return answer["errorCode"]


def cancel(session, order_no="T0001"):
    return post(session, "KAACL0010", basic_form(order_no))


def to_status(simulator, session, status, order_no="T0001", **form):
    """Drive a fresh order to ``status`` through the API and the back office."""
    authorize(session, order_no, **form)
    if status == 1:
        return
    if status == 2:
        assert cancel(session, order_no)["returnCode"] == "0"
        return
    ship(session, order_no, slip_no(sum(map(ord, order_no))))
    if status == 3:
        return
    if status == 5:
        simulator.investigate(MERCHANT, order_no)
        return
    simulator.deliver(MERCHANT, order_no)
    if status == 10:
        return
    simulator.invoice(MERCHANT, order_no)
    if status == 11:
        return
    simulator.pay(MERCHANT, order_no)
    assert status == 12


# --------------------------------------------------------------------------- §6.11

def test_example_exchanges_verbatim(sandbox_session):
    body = ("ycfStrCode=12345678901&orderNo=T0001&orderYmd=20240101&shipYmd=20240105"
            "&name=山田　太郎&postCode=1000001&address1=東京都千代田区千代田１丁目１番"
            "&telNum=0312345678&totalAmount=1100&sendDiv=0&itemName1=テスト商品"
            "&subTotal1=1100&requestDate=20240101120000&password=testpass")
    form = dict(pair.split("=", 1) for pair in body.split("&"))
    # 1. approve
    answer = post(sandbox_session, "KAARA0010", form)
    assert (answer["returnCode"], answer["result"]) == ("0", "0")
    assert status_of(sandbox_session) == ("1", "0")
    # 2. same orderNo again
    assert err(post(sandbox_session, "KAARA0010", form)) == "kaara009E"
    # 3. amount mismatch
    assert err(post(sandbox_session, "KAARA0010",
                    dict(form, orderNo="T0002", subTotal1="1000"))) == "kaara101E"
    # 4. SMS
    sms = dict(form, orderNo="T0003", sendDiv="3", telNum="09012345678")
    assert post(sandbox_session, "KAARA0010", sms)["result"] == "3"
    verify = basic_form("T0003", ninCode="0000")
    assert post(sandbox_session, "KAASA0020", verify)["result"] == "2"
    assert post(sandbox_session, "KAASA0020", dict(verify, ninCode="1234"))["result"] == "1"
    assert status_of(sandbox_session, "T0003") == ("1", "0")
    # 5. shipment, cancel, shipment again
    assert ship(sandbox_session, "T0001", slip_no(7))["returnCode"] == "0"
    assert status_of(sandbox_session)[0] == "3"
    assert cancel(sandbox_session)["returnCode"] == "0"
    assert status_of(sandbox_session)[0] == "2"
    assert err(ship(sandbox_session, "T0001", slip_no(7))) == "kaasl020E"


# --------------------------------------------------------------------------- every API ok

def test_credit_result_and_status(sandbox_session):
    authorize(sandbox_session)
    assert post(sandbox_session, "KAARS0010", basic_form())["result"] == "0"
    assert status_of(sandbox_session) == ("1", "0")


def test_shipment_register_change_cancel(sandbox_session, simulator):
    authorize(sandbox_session)
    assert ship(sandbox_session, slip=slip_no(1))["returnCode"] == "0"
    assert ship(sandbox_session, slip=slip_no(2))["returnCode"] == "0"   # second parcel
    assert [s["paymentNo"] for s in simulator.transaction(MERCHANT, "T0001")["slips"]] == [
        slip_no(1), slip_no(2)]
    change = basic_form(processDiv="1", paymentNo=slip_no(3), beforePaymentNo=slip_no(1),
                        shipYmd="20240106")
    assert post(sandbox_session, "KAASL0010", change)["returnCode"] == "0"
    tx = simulator.transaction(MERCHANT, "T0001")
    assert [s["paymentNo"] for s in tx["slips"]] == [slip_no(3), slip_no(2)]
    assert tx["shipYmd"] == "20240106" and tx["status"] == 3
    assert post(sandbox_session, "KAASL0010", basic_form(processDiv="9"))["returnCode"] == "0"
    tx = simulator.transaction(MERCHANT, "T0001")
    assert tx["status"] == 1 and tx["slips"] == []


def test_shipment_change_without_before_slip_replaces_the_only_one(sandbox_session, simulator):
    authorize(sandbox_session)
    ship(sandbox_session, slip=slip_no(1))
    change = basic_form(processDiv="1", paymentNo=slip_no(2), shipYmd="20240105")
    assert post(sandbox_session, "KAASL0010", change)["returnCode"] == "0"
    assert simulator.transaction(MERCHANT, "T0001")["slips"][0]["paymentNo"] == slip_no(2)


def test_cancel_removes_slips(sandbox_session, simulator):
    authorize(sandbox_session)
    ship(sandbox_session)
    assert cancel(sandbox_session)["returnCode"] == "0"
    tx = simulator.transaction(MERCHANT, "T0001")
    assert tx["status"] == 2 and tx["slips"] == []


@pytest.mark.parametrize("status", [1, 3, 5, 10, 11])
def test_cancellable_statuses(simulator, sandbox_session, status):
    to_status(simulator, sandbox_session, status)
    assert cancel(sandbox_session)["returnCode"] == "0"
    assert status_of(sandbox_session)[0] == "2"


def test_cancel_from_warning_status(simulator, sandbox_session):
    authorize(sandbox_session)
    simulator.warn(MERCHANT, "T0001", 1)
    assert status_of(sandbox_session) == ("6", "1")
    assert cancel(sandbox_session)["returnCode"] == "0"


def test_change_amount_reduces(sandbox_session, simulator):
    authorize(sandbox_session)
    form = change_form(total=900, address1="東京都港区芝公園４丁目２番", itemName1="値引後商品")
    assert post(sandbox_session, "KAAKK0010", form)["returnCode"] == "0"
    tx = simulator.transaction(MERCHANT, "T0001")
    assert (tx["initial_total"], tx["current_total"]) == (1100, 900)
    assert tx["billing"]["address1"] == "東京都港区芝公園４丁目２番"
    assert tx["items"][0]["itemName"] == "値引後商品"


def test_change_amount_of_an_sms_order_with_send_div_2(simulator, sandbox_session):
    """WooCommerce and w2 send sendDiv 2 (SMS連携決済) with KAAKK0010 for スマホタイプ orders."""
    authorize(sandbox_session, sendDiv="3", telNum="09012345678")
    assert post(sandbox_session, "KAASA0020", basic_form(ninCode="1234"))["result"] == "1"
    answer = post(sandbox_session, "KAAKK0010", change_form(total=900, sendDiv="2"))
    assert (answer["returnCode"], answer["errorCode"]) == ("0", "")
    assert simulator.transaction(MERCHANT, "T0001")["current_total"] == 900


def test_reissue_replaces_the_bill_post_code_with_the_bundle_contract():
    sim, session = make_session(contracts={"bundle": True})
    to_status(sim, session, 11, billPostCode="旧メモ")
    assert sim.transaction(MERCHANT, "T0001")["billPostCode"] == "旧メモ"
    answer = post(session, "KAARR0010", reissue_form(billPostCode="会員１２"))
    assert (answer["returnCode"], answer["errorCode"]) == ("0", "")
    assert sim.transaction(MERCHANT, "T0001")["billPostCode"] == "会員１２"


def test_reissue_and_withdraw(simulator, sandbox_session):
    to_status(simulator, sandbox_session, 11)
    answer = post(sandbox_session, "KAARR0010", reissue_form())
    assert (answer["returnCode"], answer["reissueCode"]) == ("0", "1")
    tx = simulator.transaction(MERCHANT, "T0001")
    assert tx["reissue"]["count"] == 1 and tx["reissue"]["pending"] is True
    answer = post(sandbox_session, "KAARR0010", reissue_form(requestContents="3",
                                                             reasonReissue=None,
                                                             reasonReissueEtc=None))
    assert (answer["returnCode"], answer["reissueCode"]) == ("0", "")
    assert simulator.transaction(MERCHANT, "T0001")["reissue"]["pending"] is False


def test_print_data_for_bundle_orders():
    sim, session = make_session(contracts={"bundle": True}, shop_name="テスト商店")
    authorize(session, sendDiv="2", itemCount1="1", unitPrice1="1100")
    response = session.post(
        "http://sandbox.kuroneko.invalid/kuroneko-atobarai-api/KAASD0010APIAction_execute.action",
        data=basic_form())
    from test_sandbox_support import parse, tags
    answer = parse(response.content)
    assert answer["returnCode"] == "0"
    order = tags(response.content)
    assert order[:4] == ["ycfStrCode", "orderNo", "returnCode", "postCode"]
    assert order.index("claimSum") < order.index("itemName1") < order.index("accountNo1")
    assert order[-4:] == ["billPostCode", "errorCode", "returnDate", "requestDate"]
    assert answer["claimDate"] == "20240101" and answer["maturity"] == "20240115"
    assert answer["claimSum"] == "1100" and answer["name"] == "山田　太郎"
    assert answer["buyStore"] == "テスト商店" and answer["buyerName"] == "山田　太郎"
    assert (answer["itemName1"], answer["itemCount1"], answer["unitPrice1"],
            answer["subTotal1"]) == ("テスト商品", "1", "1100", "1100")
    assert answer["itemName2"] == ""
    assert answer["inquiryNo"] and answer["barCode"] and answer["upperOcrCode"]
    again = parse(session.post(response.url, data=basic_form()).content)
    assert again["inquiryNo"] == answer["inquiryNo"]   # deterministic
    assert sim.transaction(MERCHANT, "T0001")["print_data_downloaded"] is True


# --------------------------------------------------------------------------- state errors

def test_kaara_duplicate_of_any_record(simulator, sandbox_session):
    authorize(sandbox_session, "D1", telNum="0312349991")                   # 32
    authorize(sandbox_session, "D2")
    cancel(sandbox_session, "D2")                                            # 2
    authorize(sandbox_session, "D3", sendDiv="3", telNum="09012345678")
    simulator.expire_sms(MERCHANT, "D3")                                     # 31
    for order_no in ("D1", "D2", "D3"):
        assert err(authorize(sandbox_session, order_no)) == "kaara009E"


def test_kaars_errors(sandbox_session):
    assert err(post(sandbox_session, "KAARS0010", basic_form())) == "kaars008E"
    authorize(sandbox_session)
    cancel(sandbox_session)
    assert err(post(sandbox_session, "KAARS0010", basic_form())) == "kaars008E"


def test_kaast_reports_every_status(simulator, sandbox_session):
    assert err(post(sandbox_session, "KAAST0010", basic_form())) == "kaast008E"
    authorize(sandbox_session)
    cancel(sandbox_session)
    assert status_of(sandbox_session) == ("2", "0")


@pytest.mark.parametrize("setup, expected", [
    ("missing", "kaacl008E"), ("paid", "kaacl015E"), ("cancelled", "kaacl009E"),
    ("review", "kaacl009E"), ("voided", "kaacl009E"), ("declined", "kaacl009E"),
])
def test_kaacl_state_errors(simulator, sandbox_session, setup, expected):
    if setup == "paid":
        to_status(simulator, sandbox_session, 12)
    elif setup == "cancelled":
        to_status(simulator, sandbox_session, 2)
    elif setup == "review":
        authorize(sandbox_session, telNum="0312349993")
    elif setup == "voided":
        authorize(sandbox_session, sendDiv="3", telNum="09012345678")
        simulator.expire_sms(MERCHANT, "T0001")
    elif setup == "declined":
        authorize(sandbox_session, telNum="0312349992")
    assert err(cancel(sandbox_session)) == expected


@pytest.mark.parametrize("status", [2, 10, 11, 12])
def test_kaasl_register_refused_by_status(simulator, sandbox_session, status):
    to_status(simulator, sandbox_session, status)
    assert err(ship(sandbox_session, slip=slip_no(900))) == "kaasl020E"


def test_kaasl_register_refused_while_under_review(sandbox_session):
    authorize(sandbox_session, telNum="0312349993")
    assert err(ship(sandbox_session)) == "kaasl020E"


@pytest.mark.parametrize("status", [1, 2, 10, 12])
def test_kaasl_change_and_cancel_refused_by_status(simulator, sandbox_session, status):
    to_status(simulator, sandbox_session, status)
    change = basic_form(processDiv="1", paymentNo=slip_no(901), shipYmd="20240105")
    assert err(post(sandbox_session, "KAASL0010", change)) == "kaasl022E"
    assert err(post(sandbox_session, "KAASL0010", basic_form(processDiv="9"))) == "kaasl022E"


@pytest.mark.parametrize("status", [3, 5])
def test_kaasl_change_and_cancel_allowed(simulator, sandbox_session, status):
    to_status(simulator, sandbox_session, status)
    assert post(sandbox_session, "KAASL0010", basic_form(processDiv="9"))["returnCode"] == "0"
    assert status_of(sandbox_session)[0] == "1"


def test_new_slip_on_investigated_order_returns_to_3(simulator, sandbox_session):
    authorize(sandbox_session)
    ship(sandbox_session, slip=slip_no(1))
    simulator.investigate(MERCHANT, "T0001")
    assert ship(sandbox_session, slip=slip_no(2))["returnCode"] == "0"
    tx = simulator.transaction(MERCHANT, "T0001")
    assert tx["status"] == 3 and len(tx["slips"]) == 2


def test_kaasl_slip_errors(simulator, sandbox_session):
    assert err(ship(sandbox_session, "NOPE")) == "kaasl008E"
    authorize(sandbox_session)
    ship(sandbox_session, slip=slip_no(1))
    assert err(ship(sandbox_session, slip=slip_no(1))) == "kaasl009E"
    change = basic_form(processDiv="1", paymentNo=slip_no(3), beforePaymentNo=slip_no(2),
                        shipYmd="20240105")
    assert err(post(sandbox_session, "KAASL0010", change)) == "kaasl032E"
    for n in range(2, 11):
        assert ship(sandbox_session, slip=slip_no(n))["returnCode"] == "0"
    assert err(ship(sandbox_session, slip=slip_no(11))) == "kaasl017E"


def test_kaasl_one_slip_serves_at_most_three_orders(sandbox_session):
    for order_no in ("A1", "A2", "A3", "A4"):
        authorize(sandbox_session, order_no)
    for order_no in ("A1", "A2", "A3"):
        assert ship(sandbox_session, order_no, slip_no(50))["returnCode"] == "0"
    assert err(ship(sandbox_session, "A4", slip_no(50))) == "kaasl045E"
    cancel(sandbox_session, "A1")
    assert ship(sandbox_session, "A4", slip_no(50))["returnCode"] == "0"


def test_kaakk_state_errors(simulator, sandbox_session):
    assert err(post(sandbox_session, "KAAKK0010", change_form("NOPE"))) == "kaakk008E"
    authorize(sandbox_session, "R1", telNum="0312349993")
    assert err(post(sandbox_session, "KAAKK0010", change_form("R1"))) == "kaakk009E"
    to_status(simulator, sandbox_session, 2, "C1")
    assert err(post(sandbox_session, "KAAKK0010", change_form("C1"))) == "kaakk011E"
    to_status(simulator, sandbox_session, 12, "P1")
    assert err(post(sandbox_session, "KAAKK0010", change_form("P1"))) == "kaakk011E"
    authorize(sandbox_session, "S1")
    assert err(post(sandbox_session, "KAAKK0010",
                    change_form("S1", shipYmd="20231231"))) == "kaakk016E"
    assert err(post(sandbox_session, "KAAKK0010",
                    change_form("S1", shipYmd="20240401"))) == "kaakk017E"
    assert err(post(sandbox_session, "KAAKK0010", change_form("S1", total=1100))) == "kaakk049E"


@pytest.mark.parametrize("status", [1, 3, 5, 10, 11])
def test_kaakk_allowed_statuses(simulator, sandbox_session, status):
    to_status(simulator, sandbox_session, status)
    assert post(sandbox_session, "KAAKK0010", change_form(total=1000))["returnCode"] == "0"


def test_kaakk_increase_denied_by_2017_rule():
    sim, session = make_session(amount_increase="deny")
    authorize(session)
    assert post(session, "KAAKK0010", change_form(total=800))["returnCode"] == "0"
    assert post(session, "KAAKK0010", change_form(total=1000))["returnCode"] == "0"
    assert err(post(session, "KAAKK0010", change_form(total=1100))) == "kaakk050E"
    assert err(post(session, "KAAKK0010", change_form(total=1200))) == "kaakk050E"


def test_kaakk_increase_allowed_within_credit_limit(simulator, sandbox_session):
    authorize(sandbox_session, "I1", totalAmount="30000", subTotal1="30000")
    authorize(sandbox_session, "I2", totalAmount="20000", subTotal1="20000")
    assert post(sandbox_session, "KAAKK0010",
                change_form("I1", total=35000))["returnCode"] == "0"       # 55,000 in all
    assert err(post(sandbox_session, "KAAKK0010",
                    change_form("I1", total=35001))) == "kaakk050E"
    assert simulator.transaction(MERCHANT, "I1")["current_total"] == 35000


def test_kaarr_state_errors(simulator, sandbox_session):
    assert err(post(sandbox_session, "KAARR0010", reissue_form("NOPE"))) == "kaarr008E"
    authorize(sandbox_session, "N1")
    assert err(post(sandbox_session, "KAARR0010", reissue_form("N1"))) == "kaarr016E"
    to_status(simulator, sandbox_session, 2, "C1")
    assert err(post(sandbox_session, "KAARR0010", reissue_form("C1"))) == "kaarr015E"
    to_status(simulator, sandbox_session, 12, "P1")
    assert err(post(sandbox_session, "KAARR0010", reissue_form("P1"))) == "kaarr015E"
    to_status(simulator, sandbox_session, 10, "D1")
    withdraw = reissue_form("D1", requestContents="3", reasonReissue=None,
                            reasonReissueEtc=None)
    assert err(post(sandbox_session, "KAARR0010", withdraw)) == "kaarr017E"
    assert err(post(sandbox_session, "KAARR0010",
                    reissue_form("D1", shipYmd="20240401"))) == "kaarr028E"
    assert err(post(sandbox_session, "KAARR0010",
                    reissue_form("D1", shipYmd="20231231"))) == "kaarr029E"
    assert err(post(sandbox_session, "KAARR0010",
                    reissue_form("D1", subTotal1="1000"))) == "kaarr067E"
    for _ in range(8):
        assert post(sandbox_session, "KAARR0010", reissue_form("D1"))["returnCode"] == "0"
    assert err(post(sandbox_session, "KAARR0010", reissue_form("D1"))) == "kaarr009E"


def test_kaarr_total_is_the_current_amount(simulator, sandbox_session):
    to_status(simulator, sandbox_session, 10)
    post(sandbox_session, "KAAKK0010", change_form(total=900))
    assert err(post(sandbox_session, "KAARR0010", reissue_form())) == "kaarr067E"
    assert post(sandbox_session, "KAARR0010",
                reissue_form(subTotal1="900"))["returnCode"] == "0"


def test_kaasd_state_errors():
    sim, session = make_session(contracts={"bundle": True})
    assert err(post(session, "KAASD0010", basic_form())) == "kaasd008E"
    authorize(session, "B0", sendDiv="0")
    assert err(post(session, "KAASD0010", basic_form("B0"))) == "kaasd010E"
    authorize(session, "B1", sendDiv="2")
    ship(session, "B1")
    assert post(session, "KAASD0010", basic_form("B1"))["returnCode"] == "0"   # status 3
    sim.deliver(MERCHANT, "B1")
    assert sim.transaction(MERCHANT, "B1")["status"] == 11   # 同梱: invoice at delivery
    assert err(post(session, "KAASD0010", basic_form("B1"))) == "kaasd009E"


# --------------------------------------------------------------------------- triggers

@pytest.mark.parametrize("suffix, result, status", [
    ("5678", "0", "1"), ("9991", "1", "32"), ("9992", "2", "32"), ("9993", "3", "30"),
    ("9994", "3", "30"), ("9995", "3", "30"), ("9989", "0", "1"),
])
def test_tel_suffix_triggers(sandbox_session, suffix, result, status):
    assert authorize(sandbox_session, telNum="031234" + suffix)["result"] == result
    assert status_of(sandbox_session)[0] == status
    assert post(sandbox_session, "KAARS0010", basic_form())["result"] == result


def test_trigger_9990_is_a_system_error_and_stores_nothing(sandbox_session, simulator):
    answer = authorize(sandbox_session, telNum="03-1234-9990")
    assert (answer["returnCode"], answer["errorCode"]) == ("1", "err0001")
    assert simulator.transaction(MERCHANT, "T0001") is None
    assert authorize(sandbox_session, telNum="0312345678")["result"] == "0"


@pytest.mark.parametrize("suffix, final, status", [
    ("9993", "0", "1"), ("9994", "1", "32"), ("9995", "2", "32")])
def test_review_resolves_after_delay(simulator, sandbox_session, suffix, final, status):
    authorize(sandbox_session, telNum="031234" + suffix)
    simulator.advance(599)
    assert post(sandbox_session, "KAARS0010", basic_form())["result"] == "3"
    simulator.advance(1)
    assert post(sandbox_session, "KAARS0010", basic_form())["result"] == final
    assert status_of(sandbox_session)[0] == status


def test_late_ng_flip(simulator, sandbox_session):
    authorize(sandbox_session, telNum="0312349989")
    simulator.advance(600)
    assert status_of(sandbox_session)[0] == "32"
    assert post(sandbox_session, "KAARS0010", basic_form())["result"] == "1"


def test_late_ng_does_not_hit_a_shipped_order(simulator, sandbox_session):
    authorize(sandbox_session, telNum="0312349989")
    ship(sandbox_session)
    simulator.advance(600)
    assert status_of(sandbox_session)[0] == "3"


# --------------------------------------------------------------------------- credit limit

def test_credit_limit_per_buyer(simulator, sandbox_session):
    assert authorize(sandbox_session, "L1", totalAmount="30000",
                     subTotal1="30000")["result"] == "0"
    assert authorize(sandbox_session, "L2", totalAmount="25000",
                     subTotal1="25000")["result"] == "0"          # exactly 55,000
    assert authorize(sandbox_session, "L3", telNum="03-1234-5678", totalAmount="1",
                     subTotal1="1")["result"] == "2"              # same buyer, hyphenated
    assert status_of(sandbox_session, "L3")[0] == "32"
    assert authorize(sandbox_session, "O1", telNum="0398765432", totalAmount="30000",
                     subTotal1="30000")["result"] == "0"          # another buyer
    cancel(sandbox_session, "L2")
    assert authorize(sandbox_session, "L4", totalAmount="25000",
                     subTotal1="25000")["result"] == "0"          # cancelled no longer counts


def test_credit_limit_counts_reviews_and_is_configurable():
    sim, session = make_session(credit_limit_per_buyer=10000)
    assert authorize(session, "R1", telNum="0312349993", totalAmount="6000",
                     subTotal1="6000")["result"] == "3"
    assert authorize(session, "R2", telNum="0312349993", totalAmount="5000",
                     subTotal1="5000")["result"] == "3"           # suffix triggers win
    assert authorize(session, "R3", telNum="0312349993", sendDiv="0", totalAmount="1",
                     subTotal1="1")["result"] == "3"
    assert authorize(session, "R4", telNum="0398769993".replace("9993", "1000"),
                     totalAmount="10000", subTotal1="10000")["result"] == "0"
    assert authorize(session, "R5", telNum="0398761000", totalAmount="1",
                     subTotal1="1")["result"] == "2"


def test_credit_limit_declines_sms_orders_without_sms(simulator, sandbox_session):
    authorize(sandbox_session, "S1", telNum="09012345678", totalAmount="55000",
              subTotal1="55000")
    answer = authorize(sandbox_session, "S2", sendDiv="3", telNum="090-1234-5678")
    assert answer["result"] == "2"
    assert simulator.sms_outbox == []

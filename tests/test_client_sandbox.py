"""The real client, over the real requests transport, against the in-process sandbox.

Every operation × (success, each business outcome, a validation error raised before any HTTP
call, a state error from the sandbox). Outcomes are steered with the sandbox's telNum
triggers (spec §6.6) and its Python back-office (deliver, invoice, pay, expire_sms …).
"""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from flask_kuroneko.yamato.client import KuronekoClient
from flask_kuroneko.yamato.codes import (ChangeSendDiv, CreditDecision, ProcessDiv, ReissueContents,
                                         ReissueReason, SendDiv, SmsResult, TransactionStatus,
                                         WarningCode)
from flask_kuroneko.yamato.datatypes import (AmountChangeRequest, AuthorizationRequest, Buyer,
                                             Destination, Item, ReissueRequest, ShipmentRequest)
from flask_kuroneko.errors import ApiError, AuthenticationError, ValidationError
from flask_kuroneko.yamato.wire import JST

M = "12345678901"
_seq = itertools.count(1)


def slip(prefix: str = "4000") -> str:
    """A Yamato slip number with a valid seven-check digit."""
    body = (prefix + "%07d" % next(_seq))[:11].ljust(11, "0")
    return body + str(int(body) % 7)


def today() -> date:
    from datetime import datetime
    return datetime.now(JST).date()


def order_no() -> str:
    return f"T{next(_seq):06d}"


def auth_req(no: str, *, tel: str = "03-1234-5678", total: int = 1100,
             send_div: SendDiv = SendDiv.SELF, **kw) -> AuthorizationRequest:
    buyer = Buyer(name="山田 太郎", post_code="100-0001", address="東京都千代田区千代田1-1",
                  tel=tel, name_kana="ヤマダ タロウ", email="taro@example.jp")
    args = dict(order_no=no, order_date=today(), ship_date=today() + timedelta(days=3),
                buyer=buyer, total_amount=total,
                items=(Item("テスト商品", total - 100, 1, total - 100), Item("送料", 100)),
                send_div=send_div)
    args.update(kw)
    return AuthorizationRequest(**args)


def approved(client, **kw) -> str:
    no = order_no()
    assert client.authorize(auth_req(no, **kw)).decision is CreditDecision.APPROVED
    return no


def status_of(simulator, no: str) -> int:
    return simulator.transaction(M, no)["status"]


@pytest.fixture
def no_http(sandbox_session, monkeypatch):
    """Counts what reaches the sandbox adapter; tests assert it stays zero."""
    adapter = sandbox_session.get_adapter("http://sandbox.kuroneko.invalid/")
    calls = []
    original = adapter.send

    def counting(request, **kw):
        calls.append(request.url)
        return original(request, **kw)

    monkeypatch.setattr(adapter, "send", counting)
    return calls


@pytest.fixture
def posted(sandbox_session, monkeypatch):
    """The decoded form of every request that reaches the sandbox adapter, in order."""
    from urllib.parse import parse_qsl
    adapter = sandbox_session.get_adapter("http://sandbox.kuroneko.invalid/")
    forms = []
    original = adapter.send

    def recording(request, **kw):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        forms.append((request.url.rsplit("/", 1)[-1][:9], dict(parse_qsl(body or ""))))
        return original(request, **kw)

    monkeypatch.setattr(adapter, "send", recording)
    return forms


# --------------------------------------------------------------------------- KAARA0010


class TestAuthorize:
    def test_approved(self, api_client, simulator):
        no = order_no()
        result = api_client.authorize(auth_req(no))
        assert result.decision is CreditDecision.APPROVED
        assert result.order_no == no and result.returned_at is not None
        assert status_of(simulator, no) == TransactionStatus.APPROVED

    @pytest.mark.parametrize("suffix,decision", [
        ("9991", CreditDecision.DECLINED),
        ("9992", CreditDecision.LIMIT_EXCEEDED),
        ("9993", CreditDecision.UNDER_REVIEW),
    ])
    def test_business_outcomes_are_results(self, api_client, suffix, decision):
        assert api_client.authorize(auth_req(order_no(), tel=f"03-1234-{suffix}")).decision is decision

    def test_credit_limit(self, api_client):
        result = api_client.authorize(auth_req(order_no(), total=60_000))
        assert result.decision is CreditDecision.LIMIT_EXCEEDED

    def test_gift_destination(self, api_client, simulator):
        no = order_no()
        dest = Destination(name="佐藤 花子", post_code="〒530-0001", address="大阪府大阪市北区梅田1-1")
        assert api_client.authorize(auth_req(no, send_div=SendDiv.GIFT, destination=dest)).decision \
            is CreditDecision.APPROVED
        assert simulator.transaction(M, no)["delivery"]["sendName"] == "佐藤　花子"

    def test_validation_error_before_http(self, api_client, simulator, no_http):
        bad = auth_req(order_no(), buyer=Buyer(name="山田", post_code="1000001",
                                               address="千代田区千代田1-1", tel="0312345678"))
        with pytest.raises(ValidationError) as info:
            api_client.authorize(bad)
        assert info.value.field == "address1"
        assert no_http == [] and simulator.transactions() == []
        api_client.authorize(auth_req(order_no()))       # the counter does see real calls
        assert len(no_http) == 1

    def test_duplicate_order_no_is_a_state_error(self, api_client):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:
            api_client.authorize(auth_req(no))
        assert info.value.code == "kaara009E" and info.value.order_no == no
        assert "一意" in info.value.message

    def test_system_error_trigger(self, api_client):
        with pytest.raises(ApiError) as info:
            api_client.authorize(auth_req(order_no(), tel="03-1234-9990"))
        assert info.value.code == "err0001" and "例外エラー" in info.value.message

    def test_nonexistent_post_code_is_yamatos_answer(self, api_client):
        req = auth_req(order_no(), buyer=Buyer(name="山田 太郎", post_code="000-0000",
                                               address="東京都千代田区千代田1-1", tel="0312345678"))
        with pytest.raises(ApiError) as info:
            api_client.authorize(req)
        assert info.value.code == "kaara029E"

    def test_bundle_needs_the_contract(self, api_client):
        with pytest.raises(ApiError) as info:
            api_client.authorize(auth_req(order_no(), send_div=SendDiv.BUNDLED))
        assert info.value.code == "kaara052E"

    def test_wrong_password_and_unknown_merchant(self, sandbox_session):
        wrong = KuronekoClient(M, "nottheone", session=sandbox_session, timeout=5)
        with pytest.raises(AuthenticationError) as info:
            wrong.authorize(auth_req(order_no()))
        assert info.value.code == "kaara092E"
        assert "nottheone" not in str(info.value)
        unknown = KuronekoClient("99999999999", "testpass", session=sandbox_session, timeout=5)
        with pytest.raises(AuthenticationError) as info:
            unknown.get_status("X1")
        assert info.value.code == "kaast015E"


# --------------------------------------------------------------------------- KAASA0020


class TestVerifySms:
    def sms_order(self, client, tel="090-1234-5678") -> str:
        no = order_no()
        assert client.authorize(auth_req(no, tel=tel, send_div=SendDiv.SMS)).decision \
            is CreditDecision.UNDER_REVIEW
        return no

    def test_ok_after_a_mismatch(self, api_client, simulator):
        no = self.sms_order(api_client)
        code = simulator.sms_code(M, no)
        wrong = "0000" if code != "0000" else "1111"
        assert api_client.verify_sms(no, wrong).result is SmsResult.MISMATCH
        assert api_client.verify_sms(no, code).result is SmsResult.OK
        assert api_client.get_status(no).status is TransactionStatus.APPROVED

    def test_full_width_code_is_accepted(self, api_client, simulator):
        no = self.sms_order(api_client)
        code = simulator.sms_code(M, no)
        full = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        assert api_client.verify_sms(no, full).result is SmsResult.OK

    def test_expired(self, api_client, simulator):
        no = self.sms_order(api_client)
        simulator.expire_sms(M, no)
        assert api_client.verify_sms(no, simulator.sms_code(M, no)).result is SmsResult.EXPIRED

    def test_sms_not_delivered(self, api_client, simulator):
        no = self.sms_order(api_client, tel="090-1234-9944")
        assert api_client.verify_sms(no, "1234").result is SmsResult.SMS_NOT_DELIVERED

    def test_not_awaiting(self, api_client):
        no = approved(api_client)
        assert api_client.verify_sms(no, "1234").result is SmsResult.NOT_AWAITING

    def test_sms_decline_triggers(self, api_client):
        result = api_client.authorize(auth_req(order_no(), tel="090-1234-9991", send_div=SendDiv.SMS))
        assert result.decision is CreditDecision.DECLINED

    def test_landline_refused_before_http(self, api_client, no_http):
        with pytest.raises(ValidationError) as info:
            api_client.authorize(auth_req(order_no(), tel="03-1234-5678", send_div=SendDiv.SMS))
        assert info.value.field == "telNum" and no_http == []

    def test_bad_code_refused_before_http(self, api_client, no_http):
        with pytest.raises(ValidationError) as info:
            api_client.verify_sms("T1", "12a")
        assert info.value.field == "ninCode" and no_http == []

    def test_state_errors(self, api_client, simulator):
        with pytest.raises(ApiError) as info:
            api_client.verify_sms(order_no(), "1234")
        assert info.value.code == "kaasa020E"
        no = self.sms_order(api_client)
        code = simulator.sms_code(M, no)
        wrong = "0000" if code != "0000" else "1111"
        attempts = simulator.merchant(M).sms.max_attempts
        for _ in range(attempts):
            assert api_client.verify_sms(no, wrong).result is SmsResult.MISMATCH
        with pytest.raises(ApiError) as info:
            api_client.verify_sms(no, code)
        assert info.value.code == "kaasa021E"


# --------------------------------------------------------------------------- KAARS0010 / KAAST0010


class TestInquiries:
    def test_review_resolves(self, api_client, simulator):
        approve, decline = order_no(), order_no()
        assert api_client.authorize(auth_req(approve, tel="03-1234-9993")).decision is CreditDecision.UNDER_REVIEW
        assert api_client.authorize(auth_req(decline, tel="03-1234-9994")).decision is CreditDecision.UNDER_REVIEW
        assert api_client.get_credit_result(approve).decision is CreditDecision.UNDER_REVIEW
        simulator.advance(simulator.merchant(M).review_delay_seconds + 1)
        assert api_client.get_credit_result(approve).decision is CreditDecision.APPROVED
        assert api_client.get_credit_result(decline).decision is CreditDecision.DECLINED
        assert api_client.get_status(decline).status is TransactionStatus.NOT_AVAILABLE

    def test_credit_result_errors(self, api_client, no_http):
        with pytest.raises(ValidationError):
            api_client.get_credit_result("A" * 21)
        assert no_http == []
        with pytest.raises(ApiError) as info:
            api_client.get_credit_result(order_no())
        assert info.value.code == "kaars008E"
        no = approved(api_client)
        api_client.cancel(no)
        with pytest.raises(ApiError) as info:
            api_client.get_credit_result(no)
        assert info.value.code == "kaars008E"

    def test_status_through_the_lifecycle(self, api_client, simulator):
        no = approved(api_client)
        assert api_client.get_status(no).status is TransactionStatus.APPROVED
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip()))
        assert api_client.get_status(no).status is TransactionStatus.SLIP_REGISTERED
        simulator.deliver(M, no)
        assert api_client.get_status(no).status is TransactionStatus.SALES_CONFIRMED
        simulator.invoice(M, no)
        assert api_client.get_status(no).status is TransactionStatus.INVOICE_ISSUED
        simulator.pay(M, no)
        assert api_client.get_status(no).status is TransactionStatus.PAID

    def test_warning(self, api_client, simulator):
        no = approved(api_client)
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip()))
        simulator.warn(M, no, 2)
        result = api_client.get_status(no)
        assert result.warning is WarningCode.DELIVERY_NOT_COMPLETED

    def test_status_errors(self, api_client, no_http):
        with pytest.raises(ValidationError):
            api_client.get_status("注文1")
        assert no_http == []
        with pytest.raises(ApiError) as info:
            api_client.get_status(order_no())
        assert info.value.code == "kaast008E"


# --------------------------------------------------------------------------- KAACL0010


class TestCancel:
    def test_cancel_then_state_errors(self, api_client, simulator):
        no = approved(api_client)
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip()))
        assert api_client.cancel(no).operation == "KAACL0010"
        assert status_of(simulator, no) == TransactionStatus.CANCELLED
        assert simulator.transaction(M, no)["slips"] == []
        with pytest.raises(ApiError) as info:
            api_client.cancel(no)
        assert info.value.code == "kaacl009E"

    def test_paid_cannot_be_cancelled(self, api_client, simulator):
        no = approved(api_client)
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip()))
        for step in (simulator.deliver, simulator.invoice, simulator.pay):
            step(M, no)
        with pytest.raises(ApiError) as info:
            api_client.cancel(no)
        assert info.value.code == "kaacl015E"

    def test_unknown_and_invalid(self, api_client, no_http):
        with pytest.raises(ValidationError):
            api_client.cancel("")
        assert no_http == []
        with pytest.raises(ApiError) as info:
            api_client.cancel(order_no())
        assert info.value.code == "kaacl008E"


# --------------------------------------------------------------------------- KAASL0010


class TestShipment:
    def test_register_change_cancel(self, api_client, simulator):
        no = approved(api_client)
        first, second = slip(), slip()
        hyphenated = f"{first[:4]}-{first[4:8]}-{first[8:]}"
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=hyphenated))
        assert [s["paymentNo"] for s in simulator.transaction(M, no)["slips"]] == [first]
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.CHANGE, slip_no=second,
                                                      before_slip_no=first))
        assert [s["paymentNo"] for s in simulator.transaction(M, no)["slips"]] == [second]
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.CANCEL))
        assert status_of(simulator, no) == TransactionStatus.APPROVED

    def test_other_carrier(self, api_client, simulator):
        no = approved(api_client)
        api_client.register_shipment(ShipmentRequest(no, ProcessDiv.OTHER_CARRIER, slip_no="SAGAWA-1234"))
        assert status_of(simulator, no) == TransactionStatus.SLIP_REGISTERED

    def test_bad_check_digit_before_http(self, api_client, no_http):
        good = slip()
        bad = good[:-1] + str((int(good[-1]) + 1) % 10)
        with pytest.raises(ValidationError) as info:
            api_client.register_shipment(ShipmentRequest("T1", ProcessDiv.NEW, slip_no=bad))
        assert info.value.field == "paymentNo" and no_http == []
        with pytest.raises(ValidationError) as info:
            api_client.register_shipment(ShipmentRequest("T1", ProcessDiv.CHANGE, slip_no=good))
        assert info.value.field == "beforePaymentNo"
        with pytest.raises(ValidationError):
            api_client.register_shipment(ShipmentRequest("T1", ProcessDiv.CANCEL, slip_no=good))
        assert no_http == []

    def test_state_errors(self, api_client):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:        # change before anything was registered
            api_client.register_shipment(ShipmentRequest(no, ProcessDiv.CHANGE, slip_no=slip(),
                                                         before_slip_no=slip()))
        assert info.value.code == "kaasl022E"
        api_client.cancel(no)
        with pytest.raises(ApiError) as info:
            api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip()))
        assert info.value.code == "kaasl020E"
        with pytest.raises(ApiError) as info:
            api_client.register_shipment(ShipmentRequest(order_no(), ProcessDiv.NEW, slip_no=slip()))
        assert info.value.code == "kaasl008E"

    def test_slip_not_usable_for_atobarai(self, api_client):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:
            api_client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip("0000")))
        assert info.value.code == "kaasl015E"


# --------------------------------------------------------------------------- KAAKK0010


def change_req(no: str, total: int, **kw) -> AmountChangeRequest:
    args = dict(order_no=no, total_amount=total,
                items=(Item("テスト商品", total - 100, 1, total - 100), Item("送料", 100)),
                post_code="100-0001", address="東京都千代田区千代田1-1")
    args.update(kw)
    return AmountChangeRequest(**args)


class TestChangeAmount:
    def test_reduce(self, api_client, simulator):
        no = approved(api_client)
        api_client.change_amount(change_req(no, 900, address="東京都千代田区千代田1-2 新ビル３階"))
        tx = simulator.transaction(M, no)
        assert tx["current_total"] == 900
        assert tx["billing"]["address1"] == "東京都千代田区千代田１‐２　新ビル３階"

    def test_increase_beyond_the_limit_is_refused(self, api_client):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:
            api_client.change_amount(change_req(no, 60_000))
        assert info.value.code == "kaakk050E"

    def test_state_errors(self, api_client):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:
            api_client.change_amount(change_req(no, 1100))
        assert info.value.code == "kaakk049E"
        api_client.cancel(no)
        with pytest.raises(ApiError) as info:
            api_client.change_amount(change_req(no, 900))
        assert info.value.code == "kaakk011E"

    def test_smartphone_payment_with_send_div_2(self, api_client, simulator, posted):
        """利用額変更 of a スマホタイプ payment sends sendDiv 2 (as WooCommerce and w2 do) and the
        sandbox accepts it."""
        no = order_no()
        api_client.authorize(auth_req(no, tel="090-1234-5678", send_div=SendDiv.SMS))
        assert api_client.verify_sms(no, simulator.sms_code(M, no)).result is SmsResult.OK
        api_client.change_amount(change_req(no, 900, send_div=ChangeSendDiv.SMS))
        code, form = posted[-1]
        assert code == "KAAKK0010"
        assert form == {"ycfStrCode": M, "orderNo": no, "postCode": "1000001",
                        "address1": "東京都千代田区千代田１‐１", "itemName1": "テスト商品",
                        "itemCount1": "1", "unitPrice1": "800", "subTotal1": "800",
                        "itemName2": "送料", "subTotal2": "100", "totalAmount": "900",
                        "sendDiv": "2", "requestDate": form["requestDate"], "password": "testpass"}
        tx = simulator.transaction(M, no)
        assert tx["current_total"] == 900 and tx["sendDiv"] == 3
        assert api_client.get_status(no).status is TransactionStatus.APPROVED

    def test_validation_before_http(self, api_client, no_http):
        with pytest.raises(ValidationError) as info:
            api_client.change_amount(change_req("T1", 900, items=(Item("A", 800),)))
        assert info.value.field == "totalAmount"
        with pytest.raises(ValidationError) as info:
            api_client.change_amount(change_req("T1_", 900))
        assert info.value.field == "orderNo"
        assert no_http == []


# --------------------------------------------------------------------------- KAARR0010


def reissue_req(no: str, contents=ReissueContents.REISSUE, total: int = 1100, **kw) -> ReissueRequest:
    args = dict(order_no=no, contents=contents, post_code="100-0001",
                address="東京都千代田区千代田1-1",
                items=(Item("テスト商品", total - 100, 1, total - 100), Item("送料", 100)),
                reason=ReissueReason.OTHER if contents == ReissueContents.REISSUE else None,
                reason_text="お届け希望日変更" if contents == ReissueContents.REISSUE else None)
    args.update(kw)
    return ReissueRequest(**args)


class TestReissue:
    def invoiced(self, client, simulator) -> str:
        no = approved(client)
        client.register_shipment(ShipmentRequest(no, ProcessDiv.NEW, slip_no=slip()))
        simulator.deliver(M, no)
        simulator.invoice(M, no)
        return no

    def test_reissue_then_withdraw(self, api_client, simulator):
        no = self.invoiced(api_client, simulator)
        assert api_client.reissue_invoice(reissue_req(no, reason=ReissueReason.MOVED,
                                                      reason_text=None)).reissue_code == "1"
        assert simulator.transaction(M, no)["reissue"]["pending"] is True
        assert api_client.reissue_invoice(reissue_req(no, ReissueContents.WITHDRAW)).reissue_code is None
        with pytest.raises(ApiError) as info:
            api_client.reissue_invoice(reissue_req(no, ReissueContents.WITHDRAW))
        assert info.value.code == "kaarr017E"

    def test_bill_post_code_with_the_bundle_contract(self, api_client, simulator, posted):
        """KAARR0010's billPostCode reaches Yamato and replaces the stored フリー項目."""
        simulator.configure_merchant(M, contracts={"bundle": True})
        no = self.invoiced(api_client, simulator)
        result = api_client.reissue_invoice(reissue_req(no, reason=ReissueReason.MOVED,
                                                        reason_text=None, free_text="会員 12"))
        assert result.reissue_code == "1"
        code, form = posted[-1]
        assert code == "KAARR0010"
        assert form == {"ycfStrCode": M, "orderNo": no, "requestContents": "1",
                        "reasonReissue": "4", "postCode": "1000001",
                        "address1": "東京都千代田区千代田１‐１", "itemName1": "テスト商品",
                        "itemCount1": "1", "unitPrice1": "1000", "subTotal1": "1000",
                        "itemName2": "送料", "subTotal2": "100", "billPostCode": "会員１２",
                        "password": "testpass"}
        assert simulator.transaction(M, no)["billPostCode"] == "会員１２"

    def test_bill_post_code_needs_the_bundle_contract(self, api_client, simulator):
        no = self.invoiced(api_client, simulator)
        with pytest.raises(ApiError) as info:
            api_client.reissue_invoice(reissue_req(no, free_text="会員12"))
        assert info.value.code == "kaarr058E"
        assert simulator.transaction(M, no)["reissue"]["count"] == 0

    def test_state_errors(self, api_client, simulator):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:
            api_client.reissue_invoice(reissue_req(no))
        assert info.value.code == "kaarr016E"
        invoiced = self.invoiced(api_client, simulator)
        with pytest.raises(ApiError) as info:
            api_client.reissue_invoice(reissue_req(invoiced, total=1000))
        assert info.value.code == "kaarr067E"

    def test_validation_before_http(self, api_client, no_http):
        with pytest.raises(ValidationError) as info:
            api_client.reissue_invoice(reissue_req("T1", reason_text=None))
        assert info.value.field == "reasonReissueEtc"
        with pytest.raises(ValidationError) as info:
            api_client.reissue_invoice(reissue_req("T1", reason=None))
        assert info.value.field == "reasonReissue"
        assert no_http == []


# --------------------------------------------------------------------------- KAASD0010


class TestPrintData:
    def test_bundled_order(self, api_client, simulator):
        simulator.configure_merchant(M, contracts={"bundle": True})
        no = order_no()
        assert api_client.authorize(auth_req(no, send_div=SendDiv.BUNDLED, free_text="ｸｰﾎﾟﾝ")).decision \
            is CreditDecision.APPROVED
        data = api_client.get_invoice_print_data(no)
        assert data.fields["claimSum"] == "1100"
        assert data.fields["name"] == "山田　太郎"
        assert [(i.name, i.subtotal) for i in data.items] == [("テスト商品", 1000), ("送料", 100)]
        assert simulator.transaction(M, no)["print_data_downloaded"] is True

    def test_state_errors(self, api_client):
        no = approved(api_client)
        with pytest.raises(ApiError) as info:
            api_client.get_invoice_print_data(no)
        assert info.value.code == "kaasd010E"
        with pytest.raises(ApiError) as info:
            api_client.get_invoice_print_data(order_no())
        assert info.value.code == "kaasd008E"

    def test_underscore_refused_before_http(self, api_client, no_http):
        with pytest.raises(ValidationError) as info:
            api_client.get_invoice_print_data("T_1")
        assert info.value.field == "orderNo" and no_http == []

"""Yamato's code tables (spec §4). Shared by the client, the service and the sandbox.

Enum values are the wire values; ``label`` is the Japanese label used in the UI.
"""
from __future__ import annotations

from enum import Enum, IntEnum


class _Labelled(IntEnum):
    def __new__(cls, value: int, label: str):
        obj = int.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj


class CreditDecision(_Labelled):
    """審査結果 (`result` of KAARA0010/KAARS0010, `snsKk` of the push)."""
    APPROVED = 0, "ご利用可"
    DECLINED = 1, "ご利用不可"
    LIMIT_EXCEEDED = 2, "限度額超過"
    UNDER_REVIEW = 3, "審査中"


class SmsResult(_Labelled):
    """SMS判定結果 (`result` of KAASA0020)."""
    OK = 1, "判定OK"
    MISMATCH = 2, "コード不一致"
    EXPIRED = 3, "有効期限切れ"
    SMS_NOT_DELIVERED = 4, "認証SMS送信NG"
    NOT_AWAITING = 5, "認証結果の不正"


class TransactionStatus(_Labelled):
    """取引状況 (`result` of KAAST0010). 30–32 are simulator/WOO conventions (spec §4.4)."""
    APPROVED = 1, "承認済み"
    CANCELLED = 2, "取消済み"
    SLIP_REGISTERED = 3, "送り状番号登録済み"
    DELIVERY_INVESTIGATION = 5, "配送要調査"
    WARNING_MAIL_SENT = 6, "警報メール送信済み"
    SALES_CONFIRMED = 10, "売上確定"
    INVOICE_ISSUED = 11, "請求書発行済み"
    PAID = 12, "入金済み"
    UNDER_REVIEW = 30, "審査中"
    VOIDED = 31, "取消"
    NOT_AVAILABLE = 32, "決済不可"


class WarningCode(_Labelled):
    """警報情報区分 (`warning` of KAAST0010)."""
    NONE = 0, "警報なし"
    SLIP_NOT_REGISTERED = 1, "送り状番号未登録"
    DELIVERY_NOT_COMPLETED = 2, "商品配達未完了"
    DELIVERY_NEEDS_INVESTIGATION = 3, "商品配達状況要調査"
    PRINT_DATA_NOT_DOWNLOADED = 4, "請求書印字データ未DL"


class SendDiv(_Labelled):
    """送り先区分 of KAARA0010."""
    SELF = 0, "別送・本人送り"
    GIFT = 1, "別送・本人送り以外"
    BUNDLED = 2, "同梱"
    SMS = 3, "SMS認証（スマホタイプ）"
    SMS_VALIDITY = 4, "SMS有効性"


class ProcessDiv(_Labelled):
    """処理区分 of KAASL0010."""
    NEW = 0, "新規登録"
    CHANGE = 1, "変更登録"
    OTHER_CARRIER = 2, "他社配送分の新規登録又は変更登録"
    CANCEL = 9, "取消"


class ReissueContents(_Labelled):
    """ご依頼内容 of KAARR0010."""
    REISSUE = 1, "請求内容変更・請求書再発行"
    WITHDRAW = 3, "請求書再発行取下げ"


class ReissueReason(_Labelled):
    """不備事由 of KAARR0010."""
    WRONG_ADDRESS = 1, "宛先不備"
    LOST = 2, "紛失"
    DAMAGED = 3, "破損・汚損"
    MOVED = 4, "転居"
    INPUT_ERROR = 5, "入力間違い"
    OTHER = 6, "その他"


class Operation(str, Enum):
    """Yamato API codes; the value is the code used in the URL path."""
    AUTHORIZE = "KAARA0010"
    VERIFY_SMS = "KAASA0020"
    CREDIT_RESULT = "KAARS0010"
    STATUS = "KAAST0010"
    CANCEL = "KAACL0010"
    SHIPMENT = "KAASL0010"
    CHANGE_AMOUNT = "KAAKK0010"
    REISSUE = "KAARR0010"
    PRINT_DATA = "KAASD0010"

    @property
    def label(self) -> str:
        return OPERATION_LABELS[self]


OPERATION_LABELS = {
    Operation.AUTHORIZE: "決済依頼",
    Operation.VERIFY_SMS: "SMS認証番号判定",
    Operation.CREDIT_RESULT: "与信結果取得",
    Operation.STATUS: "取引状況取得",
    Operation.CANCEL: "取消",
    Operation.SHIPMENT: "出荷情報登録",
    Operation.CHANGE_AMOUNT: "金額変更",
    Operation.REISSUE: "請求書再発行",
    Operation.PRINT_DATA: "請求書印字データ取得",
}

API_PATH = "/kuroneko-atobarai-api/{code}APIAction_execute.action"

BASE_URLS = {
    "production": "https://atobarai.kuronekoyamato.co.jp",
    "test": "https://atobarai-test.kuronekoyamato.co.jp",
    # The in-process sandbox is mounted on this host by the sandbox transport adapter;
    # ".invalid" guarantees the name can never resolve to a real machine.
    "sandbox": "http://sandbox.kuroneko.invalid",
}

# ERROR_MESSAGES (code -> Japanese message) is appended below by the client work.

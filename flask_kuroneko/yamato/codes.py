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
    # A value this table does not know (a newer API revision): informational only, so the
    # client reports it as UNKNOWN (raw value in ``StatusResult.raw``) instead of failing.
    UNKNOWN = -1, "不明な警報"


class SendDiv(_Labelled):
    """送り先区分 of KAARA0010."""
    SELF = 0, "別送・本人送り"
    GIFT = 1, "別送・本人送り以外"
    BUNDLED = 2, "同梱"
    SMS = 3, "SMS認証（スマホタイプ）"
    SMS_VALIDITY = 4, "SMS有効性"


class ChangeSendDiv(_Labelled):
    """送り先区分 of KAAKK0010 (0/1/2) and KAARR0010 (0/1 only). 2 is what the WooCommerce and
    w2 integrations send when changing the amount of a スマホタイプ payment (spec appendix)."""
    SEPARATE = 0, "別送"
    BUNDLED = 1, "同梱"
    SMS = 2, "SMS連携決済（スマホタイプ）"


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


# --------------------------------------------------------------------------- error messages
# Yamato's error codes (spec §3.x tables and §4.10; W2/WOO numbering is primary, codes only
# known from EC2/EC4 are added where W2 has none) → "項目:条件" in the style of the manual,
# e.g. kaara048E → "決済金額総計:指定桁数(6桁)以内であること". The condition is what the value
# must satisfy, which is what the admin needs to fix it.

_REQ = "値が指定されていること"
_DIGITS = "半角数字であること"
_ALNUM = "半角英数字であること"
_HALF = "半角文字であること"
_FULL = "全角文字であること"
_CHARSET = "指定された文字コードの範囲文字であること"
_LAYOUT = "指定されたレイアウトであること"
_ORDER_CHARS = "半角の数字(0～9)、英字(a～z,A～Z)、\"-\"[ハイフン]、\"_\"[アンダーバー]の組み合わせであること"
_DATE = "日付として妥当であること[yyyyMMdd形式]"
_DATETIME = "日付及び時刻として妥当であること[yyyyMMddHHmmss形式]"
_PW_MATCH = "パスワードが一致すること"
_EXISTS = "存在する受注番号であること"
_USABLE = "ご利用可能な加盟店様の加盟店コードであること"
_REGISTERED = "登録済みの加盟店コードであること"
_PREF = "都道府県から始まる住所であること"
_BANCHI = "住所１と住所２を結合した住所に番地が指定されていること"
_POST_CHARS = "半角数字または\"-\"[ハイフン]の組み合わせであること"
_POST_ONE_HYPHEN = "\"-\"[ハイフン]を含む場合、1つのみ含まれていること"
_POST_7 = "\"-\"[ハイフン]を除いた半角数字が指定桁数(7桁)であること"
_POST_EXISTS = "実在する郵便番号であること"
_SIGNED_CHARS = "半角数字または\"-\"[マイナス]の組み合わせであること"
_SIGNED_LEAD = "負数の場合、\"-\"[マイナス]が先頭に指定されていること"
_POSITIVE_6 = "正数の場合、指定桁数(6桁)以内であること[0～999999]"
_NEGATIVE_7 = "負数の場合、指定桁数(7桁)以内であること[-999999～-1]"
_SHIP_WINDOW = "決済依頼日を起算日として定められた期間内の日付であること[既定期間:90日間]"
_FREE_CHARS = "全角の漢字・ひらがな・カタカナ・英数字・‐・＿、または半角の英数字・ｶﾀｶﾅ・-・_であること"
_FREE_LEN = "全角20桁以内または半角40桁以内であること"
_PHONE_LEN = "(\"-\"[ハイフン]を除いて)携帯電話番号は11桁、その他の電話番号は10桁であること"
_EXCEPTION = "ｸﾛﾈｺ代金後払いシステムで例外エラーが発生しました。お手数ですが問い合わせ先までご連絡ください"


def _digits(n: int) -> str:
    return f"指定桁数({n}桁)であること"


def _max(n: int) -> str:
    return f"指定桁数({n}桁)以内であること"


def _table(prefix: str, rows: dict[int, tuple[str, str]]) -> dict[str, str]:
    return {f"{prefix}{num:03d}E": f"{field}:{rule}" for num, (field, rule) in rows.items()}


_M, _O, _P, _D = "加盟店コード", "受注番号", "パスワード", "依頼日時"
_ITEM, _CNT, _UNIT, _SUB = ("購入商品名称(1～10)", "購入商品数量(1～10)",
                            "購入商品単価(1～10)", "購入商品小計(1～10)")

ERROR_MESSAGES: dict[str, str] = {
    **_table("kaara", {
        1: (_M, _REQ), 2: (_M, _digits(11)), 3: (_M, _DIGITS), 4: (_M, _REQ), 5: (_M, _USABLE),
        6: (_O, _REQ), 7: (_O, _ORDER_CHARS), 8: (_O, _max(20)),
        9: (_O, "加盟店様の全決済において一意(ユニーク)であること"),
        10: ("受注日", _REQ), 11: ("受注日", _DIGITS), 12: ("受注日", _digits(8)), 13: ("受注日", _DATE),
        14: ("出荷予定日", _REQ), 15: ("出荷予定日", _DIGITS), 16: ("出荷予定日", _digits(8)),
        17: ("出荷予定日", _DATE), 18: ("出荷予定日", _SHIP_WINDOW),
        19: ("氏名", _REQ), 20: ("氏名", _FULL), 21: ("氏名", _max(30)), 22: ("氏名", _CHARSET),
        23: ("氏名カナ", "半角カナであること"), 24: ("氏名カナ", _max(40)),
        25: ("郵便番号", _REQ), 26: ("郵便番号", _POST_CHARS), 27: ("郵便番号", _POST_ONE_HYPHEN),
        28: ("郵便番号", _POST_7), 29: ("郵便番号", _POST_EXISTS),
        30: ("住所１", _REQ), 31: ("住所１", _FULL), 32: ("住所１", _max(25)),
        33: ("住所１", _CHARSET), 34: ("住所１", _PREF),
        35: ("住所２", _FULL), 36: ("住所２", _max(25)), 37: ("住所２", _CHARSET),
        38: ("電話番号", _REQ), 39: ("電話番号", _POST_CHARS), 40: ("電話番号", _PHONE_LEN),
        43: ("メールアドレス", _ALNUM), 44: ("メールアドレス", _max(64)),
        45: ("メールアドレス", "ローカル部とドメイン部の間に\"@\"[アットマーク]が含まれること"),
        46: ("決済金額総計", _REQ), 47: ("決済金額総計", _DIGITS), 48: ("決済金額総計", _max(6)),
        49: ("決済金額総計", "1円以上、999999円以内の金額であること"),
        50: ("送り先区分", _REQ), 51: ("送り先区分", _DIGITS),
        52: ("送り先区分", "同梱を利用されない加盟店様の場合、0:別送・本人送り 1:別送・本人送り以外(ギフト等)のいずれかであること"),
        53: ("送り先区分", "同梱を利用される加盟店様の場合、0:別送・本人送り 1:別送・本人送り以外(ギフト等) 2:同梱のいずれかであること"),
        54: (_ITEM, _FULL), 55: (_ITEM, _max(30)), 56: (_ITEM, _CHARSET),
        57: (_ITEM, "購入商品名称(1)が指定されていること"),
        58: (_CNT, _DIGITS), 59: (_CNT, _max(4)),
        60: (_UNIT, _SIGNED_CHARS), 61: (_UNIT, _POSITIVE_6), 62: (_UNIT, _NEGATIVE_7),
        63: (_SUB, _SIGNED_CHARS), 64: (_SUB, _POSITIVE_6), 65: (_SUB, _NEGATIVE_7),
        66: ("送り先名称", _FULL), 67: ("送り先名称", _max(30)), 68: ("送り先名称", _CHARSET),
        70: ("送り先郵便番号", _POST_CHARS), 71: ("送り先郵便番号", _POST_ONE_HYPHEN),
        72: ("送り先郵便番号", _POST_7), 73: ("送り先郵便番号", _POST_EXISTS),
        75: ("送り先住所１", _FULL), 76: ("送り先住所１", _max(25)), 77: ("送り先住所１", _CHARSET),
        78: ("送り先住所１", _PREF),
        79: ("送り先住所２", _FULL), 80: ("送り先住所２", _max(25)), 81: ("送り先住所２", _CHARSET),
        82: ("送り先電話番号", _POST_CHARS),
        83: ("送り先電話番号", "\"-\"[ハイフン]を含む場合、2つ含まれていること"),
        84: ("送り先電話番号", _PHONE_LEN),
        86: (_D, _REQ), 87: (_D, _DIGITS), 88: (_D, _digits(14)), 89: (_D, _DATETIME),
        90: (_P, _REQ), 91: (_P, _ALNUM), 92: (_P, _PW_MATCH),
        93: ("電話番号", "\"0\"[ゼロ]で始まる電話番号であること"),
        94: ("送り先電話番号", "\"0\"[ゼロ]で始まる電話番号であること"),
        95: ("フリー項目", _FREE_CHARS), 96: ("フリー項目", _FREE_LEN),
        100: ("関連チェック１", "出荷予定日は受注日以降の日付であること"),
        101: ("関連チェック２", "決済金額総計と購入商品小計(1～10件)の合計金額が一致すること"),
        102: ("関連チェック３", "送り先区分が1:別送・本人送り以外(ギフト等)の場合、送り先名称・送り先郵便番号・送り先住所１が指定されていること"),
        103: ("関連チェック４", _BANCHI),
        104: ("関連チェック５", "送り先住所１と送り先住所２を結合した住所に番地が指定されていること"),
        105: ("郵便番号", "\"-\"[ハイフン]を含む場合、000-0000形式であること"),
        106: ("送り先郵便番号", "\"-\"[ハイフン]を含む場合、000-0000形式であること"),
    }),
    **_table("kaasa", {
        1: (_M, _REQ), 2: (_M, _DIGITS), 3: (_M, _digits(11)), 4: (_M, _REGISTERED),
        6: (_O, _REQ), 7: (_O, _ORDER_CHARS),
        10: ("認証コード", _REQ), 11: ("認証コード", _DIGITS), 12: ("認証コード", _max(4)),
        13: (_D, _REQ), 14: (_D, _DIGITS), 15: (_D, _digits(14)), 16: (_D, _DATETIME),
        17: (_P, _REQ), 18: (_P, _ALNUM),
        20: ("関連チェック", "番号認証が必要な与信データが存在すること"),
        21: ("関連チェック", "認証コードの入力回数が上限を超えていないこと"),
        22: ("関連チェック", "有効期限切れ処理中の与信データでないこと"),
        23: (_P, _max(8)), 24: (_P, _PW_MATCH),
    }),
    **_table("kaars", {
        1: ("項目チェック", _LAYOUT), 2: (_M, _digits(11)), 3: (_M, _DIGITS), 4: (_M, _REQ),
        5: (_O, _max(20)), 6: (_O, _HALF), 7: (_O, _REQ),
        8: (_O, "取消済みでない存在する受注番号であること"),
        9: (_D, _DATETIME), 10: (_D, _DIGITS), 11: (_D, _REQ),
        12: (_P, _PW_MATCH), 13: (_P, _REQ), 14: (_O, _ORDER_CHARS),
    }),
    **_table("kaast", {
        1: ("項目チェック", _LAYOUT), 2: (_M, _digits(11)), 3: (_M, _DIGITS), 4: (_M, _REQ),
        5: (_O, _max(20)), 6: (_O, _ORDER_CHARS), 7: (_O, _REQ), 8: (_O, _EXISTS),
        9: (_D, _DATETIME), 10: (_D, _DIGITS), 11: (_D, _REQ),
        12: (_P, _PW_MATCH), 13: (_P, _REQ), 14: (_O, _ORDER_CHARS), 15: (_M, _USABLE),
    }),
    **_table("kaacl", {
        1: ("項目チェック", _LAYOUT), 2: (_M, _digits(11)), 3: (_M, _DIGITS), 4: (_M, _REQ),
        5: (_O, _max(20)), 6: (_O, _HALF), 7: (_O, _REQ), 8: (_O, _EXISTS),
        9: (_O, "取消可能なお取引状況であること"),
        10: (_D, _DATETIME), 11: (_D, _DIGITS), 12: (_D, _REQ),
        13: (_P, _PW_MATCH), 14: (_P, _REQ),
        15: (_O, "入金済みのお取引状況でないこと"), 16: (_O, _ORDER_CHARS), 17: (_M, _USABLE),
    }),
    **_table("kaasl", {
        1: ("項目チェック", _LAYOUT), 2: (_M, _digits(11)), 3: (_M, _DIGITS), 4: (_M, _REQ),
        5: (_O, _max(20)), 6: (_O, _HALF), 7: (_O, _REQ), 8: (_O, _EXISTS),
        9: ("送り状番号", "既に登録されている送り状番号でないこと"),
        10: ("関連チェック１", "送り状番号は指定桁数(12桁)以内であること(処理区分0・1)"),
        11: ("関連チェック１", "送り状番号が指定されていること(処理区分0・1)"),
        12: ("関連チェック１", "送り状番号は半角英数字または\"-\"[ハイフン]であること(処理区分0・1)"),
        13: ("関連チェック１", "送り状番号が指定されていないこと(処理区分9:取消)"),
        14: ("関連チェック１", "送り状番号のチェックデジットにおいて番号体系が妥当であること(処理区分0・1)"),
        15: ("関連チェック１", "代金後払いでご利用可能な送り状番号であること(処理区分0・1)"),
        16: ("送り状番号", "1件のみ指定されていること"),
        17: ("送り状番号", "10件以内であること"),
        18: ("送り状番号", "既に存在する送り状番号でないこと"),
        19: ("処理区分", "0:新規登録または変更登録 1:変更登録 2:他社配送 9:取消のいずれかであること"),
        20: ("処理区分", "0:新規登録または変更登録が可能なお取引状況であること"),
        22: ("処理区分", "1:変更登録および9:取消が可能なお取引状況であること"),
        23: ("関連チェック２", "出荷予定日が存在する日付であること"),
        24: ("関連チェック２", "出荷予定日が半角数字であること"),
        25: ("関連チェック２", "出荷予定日が指定されていること"),
        26: ("関連チェック２", "出荷予定日が指定されていないこと"),
        27: ("関連チェック２", "出荷予定日は受注日以降の日付であること(処理区分1:変更登録)"),
        28: ("変更前送り状番号", _max(12)),
        29: ("変更前送り状番号", _HALF),
        30: ("出荷予定日", _REQ),
        31: ("関連チェック２", "値が指定されていないこと(処理区分9:取消)"),
        32: ("変更前送り状番号", "登録済みの送り状番号であること"),
        33: (_D, _DATETIME), 34: (_D, _DIGITS), 35: (_D, _REQ),
        36: (_P, _PW_MATCH), 37: (_P, _REQ), 38: (_O, _ORDER_CHARS),
        41: (_M, "存在する加盟店コードであること"),
        42: ("関連チェック２", _SHIP_WINDOW),
        44: ("関連チェック１", "送り状番号は半角英数字であること"),
        45: ("関連チェック１", "同一送り状番号が登録されている受注番号が3件以内であること"),
    }),
    **_table("kaakk", {
        1: (_M, _REQ), 2: (_M, _DIGITS), 3: (_M, _digits(11)), 4: (_M, _REGISTERED),
        5: (_O, _REQ),
        6: (_O, _ORDER_CHARS + "、かつ先頭と末尾が英数字であること"),
        7: (_O, _max(20)), 8: (_O, _EXISTS),
        9: (_O, "請求金額変更が可能な審査結果であること"),
        10: (_O, "請求金額変更が可能なお取引状況であること(外部連携対象外の決済情報であること)"),
        11: (_O, "請求金額変更が可能なお取引状況であること"),
        13: ("出荷予定日", _DIGITS), 14: ("出荷予定日", _digits(8)), 15: ("出荷予定日", _DATE),
        16: ("出荷予定日", "受注日以降の日付であること"), 17: ("出荷予定日", _SHIP_WINDOW),
        18: ("郵便番号", _REQ), 19: ("郵便番号", _POST_CHARS), 20: ("郵便番号", _POST_7),
        21: ("郵便番号", _POST_ONE_HYPHEN), 22: ("郵便番号", _POST_EXISTS),
        23: ("住所１", _REQ), 24: ("住所１", _CHARSET), 25: ("住所１", _FULL),
        26: ("住所１", _max(25)), 27: ("住所１", _PREF),
        28: ("住所２", _CHARSET), 29: ("住所２", _FULL), 30: ("住所２", _max(25)), 31: ("住所２", _BANCHI),
        32: (_ITEM, "購入商品名称(1)が指定されていること"), 33: (_ITEM, _CHARSET),
        34: (_ITEM, _FULL), 35: (_ITEM, _max(30)),
        36: (_CNT, _DIGITS), 37: (_CNT, _max(4)),
        38: (_UNIT, _SIGNED_CHARS), 39: (_UNIT, _SIGNED_LEAD), 40: (_UNIT, _POSITIVE_6),
        41: (_UNIT, _NEGATIVE_7),
        42: (_SUB, _SIGNED_CHARS), 43: (_SUB, _SIGNED_LEAD), 44: (_SUB, _POSITIVE_6),
        45: (_SUB, _NEGATIVE_7),
        46: ("決済金額総計", _REQ), 47: ("決済金額総計", _DIGITS), 48: ("決済金額総計", _max(6)),
        49: ("決済金額総計", "変更前の決済金額総計と異なる値であること"),
        50: ("決済金額総計", "初回の決済金額総計より減額した値であること"),
        51: ("決済金額総計", "購入商品小計の合計値と一致すること"),
        53: ("送り先区分", _DIGITS), 54: ("送り先区分", "0:別送 1:同梱のいずれかであること"),
        55: ("送り先区分", "同梱を利用されない加盟店様の場合、0:別送が指定されていること"),
        56: ("フリー項目", _CHARSET), 57: ("フリー項目", _FREE_CHARS), 58: ("フリー項目", _FREE_LEN),
        59: (_P, _REQ), 60: (_P, _max(8)), 61: (_P, _PW_MATCH),
        62: (_D, _REQ), 63: (_D, _DIGITS), 64: (_D, _digits(14)), 65: (_D, _DATETIME),
    }),
    **_table("kaarr", {
        1: (_M, _REQ), 2: (_M, _DIGITS), 3: (_M, _digits(11)), 4: (_M, _REGISTERED),
        5: (_O, _REQ), 6: (_O, _ORDER_CHARS), 7: (_O, _max(20)), 8: (_O, _EXISTS),
        9: (_O, "請求書再発行回数が7回以下であること"),
        10: (_P, _REQ), 11: (_P, _ALNUM), 12: (_P, _PW_MATCH),
        13: ("ご依頼内容", _REQ),
        14: ("ご依頼内容", "1:請求内容変更・請求書再発行 3:請求書再発行取下げのいずれかであること"),
        15: ("ご依頼内容", "1:請求内容変更・請求書再発行の場合、請求内容変更が可能なお取引状況であること"),
        16: ("ご依頼内容", "1:請求内容変更・請求書再発行の場合、請求書再発行が可能なお取引状況であること"),
        17: ("ご依頼内容", "3:請求書再発行取下げの場合、再発行取下げが可能なお取引状況であること"),
        18: ("不備事由", "ご依頼内容が1:請求内容変更・請求書再発行の場合に指定されていること"),
        19: ("不備事由", "1:宛先不備 2:紛失 3:破損・汚損 4:転居 5:入力間違い 6:その他のいずれかであること"),
        20: ("不備事由その他", "不備事由が6:その他の場合に指定されていること"),
        21: ("不備事由その他", _CHARSET), 22: ("不備事由その他", _FULL), 23: ("不備事由その他", _max(25)),
        25: ("出荷予定日", _DIGITS), 26: ("出荷予定日", _digits(8)), 27: ("出荷予定日", _DATE),
        28: ("出荷予定日", _SHIP_WINDOW), 29: ("出荷予定日", "受注日以降の日付であること"),
        31: ("送り先区分", _DIGITS), 32: ("送り先区分", "0:別送 1:同梱のいずれかであること"),
        33: ("送り先区分", "同梱を利用されない加盟店様の場合、0:別送が指定されていること"),
        34: ("郵便番号", _REQ), 35: ("郵便番号", _POST_CHARS), 36: ("郵便番号", _POST_7),
        37: ("郵便番号", _POST_ONE_HYPHEN), 38: ("郵便番号", _POST_EXISTS),
        39: ("住所１", _REQ), 40: ("住所１", _FULL), 41: ("住所１", _CHARSET),
        42: ("住所１", _max(25)), 43: ("住所１", _PREF),
        44: ("住所２", _FULL), 45: ("住所２", _CHARSET), 46: ("住所２", _max(25)), 47: ("住所２", _BANCHI),
        48: (_ITEM, "購入商品名称(1)が指定されていること"), 49: (_ITEM, _FULL),
        50: (_ITEM, _CHARSET), 51: (_ITEM, _max(30)),
        52: (_CNT, _DIGITS), 53: (_CNT, _max(4)),
        54: (_UNIT, _SIGNED_CHARS), 55: (_UNIT, _SIGNED_LEAD), 56: (_UNIT, _POSITIVE_6),
        57: (_UNIT, _NEGATIVE_7),
        58: ("フリー項目", "同梱を利用されない加盟店様の場合、空白であること"),
        59: ("フリー項目", _CHARSET), 60: ("フリー項目", _FREE_CHARS), 61: ("フリー項目", _FREE_LEN),
        63: (_SUB, _SIGNED_CHARS), 64: (_SUB, _SIGNED_LEAD), 65: (_SUB, _POSITIVE_6),
        66: (_SUB, _NEGATIVE_7),
        67: ("関連チェック１", "登録済みの請求金額合計と購入商品小計(1～10件)の合計金額が一致すること"),
    }),
    **_table("kaasd", {
        1: ("項目チェック", _LAYOUT), 2: (_M, _REQ), 3: (_M, _digits(11)), 4: (_M, _DIGITS),
        5: (_O, _REQ), 6: (_O, _max(20)), 7: (_O, _HALF), 8: (_O, _EXISTS),
        9: (_O, "請求書印字データを取得可能なお取引状況であること"),
        10: (_O, "同梱の受注番号であること"),
        11: (_D, _REQ), 12: (_D, _DIGITS), 13: (_D, _DATETIME),
        14: (_P, _REQ), 15: (_P, _PW_MATCH),
        16: (_O, "半角の数字(0～9)、英字(a～z,A～Z)、\"-\"[ハイフン]の組み合わせであること"),
        18: (_O, "請求書印字データを取得可能なお取引状況であること"),
        19: (_M, _USABLE),
    }),
    "err0001": f"例外エラー１:{_EXCEPTION}",
    "err0002": f"例外エラー２:{_EXCEPTION}",
    "err0003": f"例外エラー３:{_EXCEPTION}",
}


def message_for(code: str | None) -> str:
    """The Japanese message of a Yamato error code; unknown codes still show the code."""
    if not code:
        return "エラーコードなし(異常終了)"
    code = code.strip()
    message = ERROR_MESSAGES.get(code)
    if message is None:
        # CSC upper-cases codes; accept any case of the same code.
        lowered = {k.lower(): v for k, v in ERROR_MESSAGES.items()}
        message = lowered.get(code.lower())
    return message if message is not None else f"未定義のエラーコード({code})"

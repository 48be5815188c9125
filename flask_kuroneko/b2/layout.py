"""The B2クラウド 基本レイアウト (「送り状発行データレイアウト 入出力用」, 97 items) and its code lists.

Source: /work/shared/spec/b2-csv.md §3–§4 (a transcription of Yamato's layout PDF, checked
against integrations that run against the real system). The same layout is written by our
export and read back from B2's issued-data export. Header names are the official item names;
B2's own export spells some of them with full-width digits or other brackets, so the import
compares names after :func:`normalize_header` (NFKC, no spaces).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum, IntEnum

#: (name, maximum bytes in CP932; full-width = 2) of the 97 columns, in file order.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("お客様管理番号", 50), ("送り状種類", 1), ("クール区分", 1), ("伝票番号", 12),
    ("出荷予定日", 10), ("お届け予定（指定）日", 10), ("配達時間帯", 4), ("お届け先コード", 20),
    ("お届け先電話番号", 15), ("お届け先電話番号枝番", 2), ("お届け先郵便番号", 8),
    ("お届け先住所", 64), ("お届け先住所（アパートマンション名）", 32),
    ("お届け先会社・部門名1", 50), ("お届け先会社・部門名2", 50), ("お届け先名", 32),
    ("お届け先名略称カナ", 50), ("敬称", 4), ("ご依頼主コード", 20), ("ご依頼主電話番号", 15),
    ("ご依頼主電話番号枝番", 2), ("ご依頼主郵便番号", 8), ("ご依頼主住所", 64),
    ("ご依頼主住所（アパートマンション名）", 32), ("ご依頼主名", 32), ("ご依頼主略称カナ", 50),
    ("品名コード1", 30), ("品名1", 50), ("品名コード2", 30), ("品名2", 50), ("荷扱い1", 20),
    ("荷扱い2", 20), ("記事", 44), ("コレクト代金引換額（税込）", 7), ("コレクト内消費税額等", 7),
    ("営業所止置き", 1), ("営業所コード", 6), ("発行枚数", 2), ("個数口枠の印字", 1),
    ("ご請求先顧客コード", 12), ("ご請求先分類コード", 3), ("運賃管理番号", 2),
    ("クロネコwebコレクトデータ登録", 1), ("クロネコwebコレクト加盟店番号", 9),
    ("クロネコwebコレクト申込受付番号1", 23), ("クロネコwebコレクト申込受付番号2", 23),
    ("クロネコwebコレクト申込受付番号3", 23), ("お届け予定eメール利用区分", 1),
    ("お届け予定eメールe-mailアドレス", 60), ("入力機種", 1), ("お届け予定eメールメッセージ", 148),
    ("お届け完了eメール利用区分", 1), ("お届け完了eメールe-mailアドレス", 60),
    ("お届け完了eメールメッセージ", 318), ("クロネコ収納代行利用区分", 1), ("予備1", 1),
    ("収納代行請求金額（税込）", 7), ("収納代行内消費税額等", 7), ("収納代行請求先郵便番号", 8),
    ("収納代行請求先住所", 64), ("収納代行請求先住所（アパートマンション名）", 32),
    ("収納代行請求先会社・部門名1", 50), ("収納代行請求先会社・部門名2", 50),
    ("収納代行請求先名（漢字）", 32), ("収納代行請求先名（カナ）", 50),
    ("収納代行問合せ先名（漢字）", 32), ("収納代行問合せ先郵便番号", 8), ("収納代行問合せ先住所", 64),
    ("収納代行問合せ先住所（アパートマンション名）", 32), ("収納代行問合せ先電話番号", 15),
    ("収納代行管理番号", 20), ("収納代行品名", 50), ("収納代行備考", 28), ("複数口くくりキー", 20),
    ("検索キータイトル1", 20), ("検索キー1", 20), ("検索キータイトル2", 20), ("検索キー2", 20),
    ("検索キータイトル3", 20), ("検索キー3", 20), ("検索キータイトル4", 20), ("検索キー4", 20),
    ("検索キータイトル5", 20), ("検索キー5", 20), ("予備2", 12), ("予備3", 3),
    ("投函予定メール利用区分", 1), ("投函予定メールe-mailアドレス", 60), ("投函予定メールメッセージ", 148),
    ("投函完了メール（お届け先宛）利用区分", 1), ("投函完了メール（お届け先宛）e-mailアドレス", 60),
    ("投函完了メール（お届け先宛）メールメッセージ", 318), ("投函完了メール（ご依頼主宛）利用区分", 1),
    ("投函完了メール（ご依頼主宛）e-mailアドレス", 60),
    ("投函完了メール（ご依頼主宛）メールメッセージ", 318), ("連携管理番号", 70), ("通知メールアドレス", 60),
)
assert len(COLUMNS) == 97

#: Column counts the export can write: the current layout, and the downloadable template
#: (``newb2web_template1.xls``) that stops after the 投函完了メール columns.
COLUMN_COUNTS = (97, 95)


def column_name(number: int) -> str:
    """The official name of column ``number`` (1-based)."""
    return COLUMNS[number - 1][0]


def max_bytes(number: int) -> int:
    return COLUMNS[number - 1][1]


class Col(IntEnum):
    """1-based numbers of the columns the package reads or writes."""
    CUSTOMER_KEY = 1
    SLIP_TYPE = 2
    COOL = 3
    TRACKING_NO = 4
    SHIP_DATE = 5
    DELIVERY_DATE = 6
    TIME_SLOT = 7
    RECIPIENT_PHONE = 9
    RECIPIENT_POSTAL = 11
    RECIPIENT_ADDRESS = 12
    RECIPIENT_BUILDING = 13
    RECIPIENT_COMPANY = 14
    RECIPIENT_DEPARTMENT = 15
    RECIPIENT_NAME = 16
    RECIPIENT_KANA = 17
    HONORIFIC = 18
    SHIPPER_PHONE = 20
    SHIPPER_POSTAL = 22
    SHIPPER_ADDRESS = 23
    SHIPPER_BUILDING = 24
    SHIPPER_NAME = 25
    SHIPPER_KANA = 26
    ITEM_NAME1 = 28
    ITEM_NAME2 = 30
    HANDLING1 = 31
    HANDLING2 = 32
    NOTE = 33
    PARCELS = 38
    PARCEL_FRAME = 39
    BILLING_CUSTOMER = 40
    BILLING_CLASS = 41
    FREIGHT_NO = 42
    NOTICE_MAIL = 48
    NOTICE_MAIL_ADDRESS = 49
    INPUT_DEVICE = 50
    BUNDLE_KEY = 74


class SlipType(str, Enum):
    """送り状種類 (column 2), current B2クラウド codes (spec §4.1; ネコポス is ``A``, not the
    old layout's ``7``)."""
    PREPAID = "0"               # 発払い
    EAZY = "1"                  # EAZY (置き配)
    COLLECT = "2"               # コレクト (代金引換)
    YU_MAIL = "3"               # クロネコゆうメール
    TIME = "4"                  # タイム
    FREIGHT_COLLECT = "5"       # 着払い
    MULTI_PARCEL = "6"          # 発払い（複数口）
    YU_PACKET = "7"             # クロネコゆうパケット
    COMPACT = "8"               # 宅急便コンパクト
    COMPACT_COLLECT = "9"       # 宅急便コンパクトコレクト
    NEKOPOS = "A"               # ネコポス

    @property
    def label(self) -> str:
        return SLIP_TYPE_LABELS[self]

    @property
    def rules(self) -> "SlipRules":
        return SLIP_RULES[self]


SLIP_TYPE_LABELS = {
    SlipType.PREPAID: "発払い", SlipType.EAZY: "EAZY", SlipType.COLLECT: "コレクト",
    SlipType.YU_MAIL: "クロネコゆうメール", SlipType.TIME: "タイム",
    SlipType.FREIGHT_COLLECT: "着払い", SlipType.MULTI_PARCEL: "発払い（複数口）",
    SlipType.YU_PACKET: "クロネコゆうパケット", SlipType.COMPACT: "宅急便コンパクト",
    SlipType.COMPACT_COLLECT: "宅急便コンパクトコレクト", SlipType.NEKOPOS: "ネコポス",
}


@dataclass(frozen=True)
class SlipRules:
    """What a 送り状種類 allows (spec §4.1 "Per-type constraints")."""
    delivery_date: bool         # お届け予定日 can be printed (not for mailbox services)
    time_slot: bool             # an ordinary 配達時間帯 (タイム has its own two codes)
    cool: bool                  # クール区分 other than 通常
    shipper_billed: bool        # ご請求先 columns filled (not for 着払い / ゆうメール)
    phone_required: bool
    item_required: bool
    notice_mail: bool           # お届け予定eメール allowed
    exportable: bool = True     # False: not for a 後払い order (cash on delivery)


_MAILBOX = SlipRules(delivery_date=False, time_slot=False, cool=False, shipper_billed=True,
                     phone_required=True, item_required=True, notice_mail=False)
SLIP_RULES: dict[SlipType, SlipRules] = {
    SlipType.PREPAID: SlipRules(True, True, True, True, True, True, True),
    SlipType.EAZY: SlipRules(True, False, False, True, True, True, True),
    SlipType.COLLECT: SlipRules(True, True, True, True, True, True, True, exportable=False),
    SlipType.YU_MAIL: SlipRules(False, False, False, False, False, False, False),
    SlipType.TIME: SlipRules(True, False, False, True, True, True, False),
    SlipType.FREIGHT_COLLECT: SlipRules(True, True, True, False, True, True, True),
    SlipType.MULTI_PARCEL: SlipRules(True, True, False, True, True, True, False),
    SlipType.YU_PACKET: _MAILBOX,
    SlipType.COMPACT: SlipRules(True, True, False, True, True, True, True),
    SlipType.COMPACT_COLLECT: SlipRules(True, True, False, True, True, True, True,
                                        exportable=False),
    SlipType.NEKOPOS: _MAILBOX,
}


class Cool(str, Enum):
    """クール区分 (column 3)."""
    NORMAL = "0"
    FROZEN = "1"                # クール冷凍
    CHILLED = "2"               # クール冷蔵


class TimeSlot(str, Enum):
    """配達時間帯 (column 7). ``BY_10``/``BY_17`` exist only for タイム; the legacy 1214/2021
    codes are not in the current layout and are not offered."""
    MORNING = "0812"            # 午前中
    H14_16 = "1416"
    H16_18 = "1618"
    H18_20 = "1820"
    H19_21 = "1921"
    BY_10 = "0010"              # 午前10時まで (タイム)
    BY_17 = "0017"              # 午後5時まで (タイム)

    @property
    def label(self) -> str:
        return TIME_SLOT_LABELS[self]


TIME_SLOT_LABELS = {
    TimeSlot.MORNING: "午前中", TimeSlot.H14_16: "14～16時", TimeSlot.H16_18: "16～18時",
    TimeSlot.H18_20: "18～20時", TimeSlot.H19_21: "19～21時",
    TimeSlot.BY_10: "午前10時まで", TimeSlot.BY_17: "午後5時まで",
}
TIME_ONLY_SLOTS = frozenset({TimeSlot.BY_10, TimeSlot.BY_17})


def normalize_header(text: str) -> str:
    """A header cell reduced for comparison: NFKC (full-width digits, ｅ, brackets), no
    whitespace, no quotes."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text)
                   if not ch.isspace() and ch not in "\"'")


#: Header names (normalised) that identify the key and slip columns of an issued-data file.
KEY_HEADERS = frozenset({normalize_header("お客様管理番号")})
TRACKING_HEADERS = frozenset(normalize_header(n) for n in ("伝票番号", "送り状番号"))
SLIP_TYPE_HEADERS = frozenset(normalize_header(n) for n in ("送り状種類", "送り状種別"))
SHIP_DATE_HEADERS = frozenset({normalize_header("出荷予定日")})

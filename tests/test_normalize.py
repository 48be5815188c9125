"""normalize.py: customer data → values Yamato accepts, or a ValidationError naming the fix."""
from __future__ import annotations

import pytest

from flask_kuroneko.yamato import jptext
from flask_kuroneko.yamato import normalize as nz
from flask_kuroneko.yamato.datatypes import Item
from flask_kuroneko.errors import ValidationError


def fw(text: str, **kw) -> str:
    return nz.to_fullwidth(text, field="name", label="氏名", **kw)


@pytest.mark.parametrize("raw,expected", [
    ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ"),                 # half-width kana composed
    ("山田  \t太郎", "山田　太郎"),                    # whitespace runs → one full-width space
    ("　山田　　太郎　", "山田　太郎"),
    ("Smith John", "Ｓｍｉｔｈ　Ｊｏｈｎ"),
    ("José", "Ｊｏｓｅ"),                              # accent dropped, letter kept
    ("ジョ-ジ", "ジョージ"),                           # dash between kana = long vowel
    ("コーヒ-", "コーヒー"),
    ("ハイツ-101", "ハイツ‐１０１"),                   # before a number it stays a hyphen
    ("1-2-3", "１‐２‐３"),                             # other dashes → ‐ (U+2010)
    ("１－２−３―４", "１‐２‐３‐４"),                  # － − ― are forbidden in CP932 terms
    ("1~3 1〜3 1～3", "１ー３　１ー３　１ー３"),        # wave-dash family
    ("①㈱Ⅱ", "（１）（株）ＩＩ"),                      # machine-dependent → permitted equivalents
    ("⑳", "（２０）"),
    ("髙橋 﨑山", "高橋　崎山"),                        # IBM extension kanji → JIS X 0208 form
    ("O'Brien \"Jr\"", "Ｏ’Ｂｒｉｅｎ　”Ｊｒ”"),
    ("¥100", "￥１００"),
])
def test_to_fullwidth(raw, expected):
    out = fw(raw)
    assert out == expected
    assert jptext.is_fullwidth(out) and not jptext.forbidden_chars(out)


@pytest.mark.parametrize("raw", ["山田😀", "漢字\u20ac", "\u2603"])
def test_unmappable_characters_raise_with_the_character(raw):
    with pytest.raises(ValidationError) as info:
        fw(raw)
    assert info.value.field == "name"
    assert "使用できない文字" in info.value.message
    assert "置き換えて" in info.value.message


def test_unmappable_dropped_only_when_asked():
    assert fw("りんご😀", drop_unmappable=True) == "りんご"


def test_name_length_and_required():
    assert nz.normalize_name("a" * 30) == "ａ" * 30
    with pytest.raises(ValidationError, match="30文字以内") as info:
        nz.normalize_name("あ" * 31)
    assert info.value.field == "name"
    with pytest.raises(ValidationError, match="入力してください"):
        nz.normalize_name("  ")
    with pytest.raises(ValidationError) as info:
        nz.normalize_name("あ" * 31, field="sendName", label="送り先名称")
    assert info.value.field == "sendName" and "送り先名称" in info.value.message


@pytest.mark.parametrize("raw,expected", [
    ("やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("ｼﾞｮｰｼﾞ", "ｼﾞｮｰｼﾞ"),
    ("パピプペポ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),
    ("ヴァン・ガード", "ｳﾞｧﾝ･ｶﾞｰﾄﾞ"),
    ("ヶ", "ｹ"),
    ("  ", None),
    (None, None),
])
def test_name_kana(raw, expected):
    out = nz.normalize_name_kana(raw)
    assert out == expected
    if out:
        assert jptext.is_halfwidth_kana(out)


def test_name_kana_refuses_kanji_and_overlong():
    with pytest.raises(ValidationError) as info:
        nz.normalize_name_kana("山田")
    assert info.value.field == "nameKana"
    nz.normalize_name_kana("ア" * 40)
    with pytest.raises(ValidationError, match="40"):
        nz.normalize_name_kana("ガ" * 21)   # 42 half-width characters once voiced marks split


def test_address_split_and_rules():
    assert nz.split_address("東京都千代田区千代田1-1") == ("東京都千代田区千代田１‐１", "")
    a1, a2 = nz.split_address("東京都千代田区千代田一丁目1番1号 パレスサイドビルディング１０１号")
    assert a1 == "東京都千代田区千代田一丁目１番１号" and a2 == "パレスサイドビルディング１０１号"
    # no space to split on → 25 + rest, at a character boundary
    a1, a2 = nz.split_address("北海道" + "あ" * 30 + "1番")
    assert len(a1) == 25 and a1 + a2 == "北海道" + "あ" * 30 + "１番"
    for part in (a1, a2):
        assert len(part) <= 25


def test_address_at_exactly_50_and_spaces_dropped_only_when_needed():
    raw = "東京都" + "あ" * 46 + "1"
    a1, a2 = nz.split_address(raw)
    assert len(a1) + len(a2) == 50
    spaced = "東京都" + "あ" * 23 + " " + "い" * 23 + "1"   # 51 with the space, 50 without
    a1, a2 = nz.split_address(spaced)
    assert FULL not in a1 + a2 and len(a1 + a2) == 50


FULL = "\u3000"


@pytest.mark.parametrize("raw,needle", [
    ("千代田区千代田1-1", "都道府県"),
    ("東京都" + "あ" * 47 + "1", "50文字以内"),          # never silently truncated
    ("東京都港区芝公園", "番地"),
    ("", "入力してください"),
])
def test_address_errors(raw, needle):
    with pytest.raises(ValidationError) as info:
        nz.split_address(raw)
    assert info.value.field == "address1"
    assert needle in info.value.message


@pytest.mark.parametrize("raw,expected", [
    ("03-1234-5678", "0312345678"),
    ("０９０－１２３４－５６７８", "09012345678"),
    ("090 1234 5678", "09012345678"),
    ("03(1234)5678", "0312345678"),
    ("+81 90-1234-5678", "09012345678"),
    ("0120-123-456", "0120123456"),
    ("050-1234-5678", "05012345678"),
])
def test_phone(raw, expected):
    assert nz.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw,needle", [
    ("3-1234-5678", "0から始まる"),
    ("03-1234-56789", "10桁"),
    ("090-1234-567", "11桁"),
    ("03-1234-abcd", "数字"),
    ("", "入力してください"),
])
def test_phone_errors(raw, needle):
    with pytest.raises(ValidationError) as info:
        nz.normalize_phone(raw)
    assert info.value.field == "telNum" and needle in info.value.message


def test_phone_for_sms_must_be_mobile():
    assert nz.normalize_phone("080-1111-2222", mobile_only=True) == "08011112222"
    for raw in ("03-1234-5678", "050-1234-5678"):
        with pytest.raises(ValidationError, match="携帯電話"):
            nz.normalize_phone(raw, mobile_only=True)
    assert nz.normalize_phone(None, required=False) is None


@pytest.mark.parametrize("raw", ["〒100-0001", "１００－０００１", "100 0001", "1000001", "〒 １００‐０００１"])
def test_post_code(raw):
    assert nz.normalize_post_code(raw) == "1000001"


@pytest.mark.parametrize("raw", ["100-001", "10000001", "abc-defg", ""])
def test_post_code_errors(raw):
    with pytest.raises(ValidationError) as info:
        nz.normalize_post_code(raw, field="sendPostCode", label="送り先郵便番号")
    assert info.value.field == "sendPostCode"


def test_email():
    assert nz.normalize_email(" ｙａｍａｄａ@example.jp ") == "yamada@example.jp"
    assert nz.normalize_email("") is None
    for raw in ("no-at.example.jp", "@example.jp", "a@", "山田@example.jp", "a b@example.jp",
                "a" * 60 + "@x.jp"):
        with pytest.raises(ValidationError) as info:
            nz.normalize_email(raw)
        assert info.value.field == "email"


def test_sms_code():
    assert nz.normalize_sms_code("１２３４") == "1234"
    assert nz.normalize_sms_code(" 12 34 ") == "1234"
    for raw in ("123", "12345", "abcd", None):
        with pytest.raises(ValidationError) as info:
            nz.normalize_sms_code(raw)
        assert info.value.field == "ninCode"


def test_order_no():
    assert nz.check_order_no("ORD_2024-0001") == "ORD_2024-0001"
    for bad in ("", "a" * 21, "注文1", "A/1", None):
        with pytest.raises(ValidationError):
            nz.check_order_no(bad)
    with pytest.raises(ValidationError, match="先頭と末尾"):
        nz.check_order_no("-A1", alnum_ends=True)
    assert nz.check_order_no("A-1", alnum_ends=True) == "A-1"
    with pytest.raises(ValidationError):
        nz.check_order_no("A_1", allow_underscore=False)


def test_slip_numbers():
    assert nz.normalize_slip("1234-5678-9013", yamato=True) == "123456789013"
    assert nz.normalize_slip("１２３４５６７８９０１３", yamato=True) == "123456789013"
    with pytest.raises(ValidationError, match="チェックデジット"):
        nz.normalize_slip("123456789012", yamato=True)
    assert nz.normalize_slip("SG-1234", yamato=False) == "SG1234"   # other carriers: no check digit
    with pytest.raises(ValidationError, match="12桁以内"):
        nz.normalize_slip("1234567890123", yamato=False)
    with pytest.raises(ValidationError) as info:
        nz.normalize_slip("", yamato=True, field="beforePaymentNo", label="変更前送り状番号")
    assert info.value.field == "beforePaymentNo"


def test_amounts():
    assert nz.check_amount(1) == 1 and nz.check_amount(999_999) == 999_999
    for bad in (0, -1, 1_000_000, 1.5, True, "100"):
        with pytest.raises(ValidationError) as info:
            nz.check_amount(bad)
        assert info.value.field == "totalAmount"


def test_item_names():
    assert nz.normalize_item_name("Tシャツ (L) ~限定~") == "Ｔシャツ　Ｌ　限定"
    assert nz.normalize_item_name("¥100 OFF!") == "１００　ＯＦＦ"
    assert nz.normalize_item_name("あ" * 40) == "あ" * 30          # truncation is harmless here
    assert nz.normalize_item_name("!!!") == nz.FALLBACK_ITEM_NAME
    assert nz.normalize_item_name("りんご🍎①") == "りんご（１）"


def test_items_sum_must_match_total():
    items = [Item("A", 1000, 1, 1000), Item("送料", 500)]
    assert [i.subtotal for i in nz.normalize_items(items, total=1500)] == [1000, 500]
    with pytest.raises(ValidationError) as info:
        nz.normalize_items(items, total=1600)
    assert info.value.field == "totalAmount" and "一致しません" in info.value.message
    with pytest.raises(ValidationError) as info:
        nz.normalize_items([], total=0)
    assert info.value.field == "itemName1"
    with pytest.raises(ValidationError) as info:
        nz.normalize_items([Item("A", 1_000_000)], total=1_000_000)
    assert info.value.field == "subTotal1"
    with pytest.raises(ValidationError) as info:
        nz.normalize_items([Item("A", 100, 10_000, 0)], total=100)
    assert info.value.field == "itemCount1"


def test_surplus_products_fold_into_one_line_keeping_the_sum():
    products = [Item(f"商品{n}", 100 * n, 1, 100 * n) for n in range(1, 13)]
    fees = [Item("送料", 500), Item("クーポン", -300)]
    total = sum(i.subtotal for i in products + fees)
    out = nz.normalize_items(products + fees, total=total)
    assert len(out) == 10
    assert sum(i.subtotal for i in out) == total
    assert [i.name for i in out][-3:] == [nz.FOLDED_ITEM_NAME, "送料", "クーポン"]
    folded = out[-3]
    assert folded.quantity is None and folded.subtotal == sum(100 * n for n in range(8, 13))


def test_fold_without_product_lines_folds_the_tail():
    lines = [Item(f"手数料{n}", 10) for n in range(12)]
    out = nz.fold_items(lines)
    assert len(out) == 10 and out[-1].name == nz.FOLDED_ITEM_NAME and out[-1].subtotal == 30


def test_free_text_and_reason_text():
    assert nz.normalize_free_text("ABC-123_x") == "ABC-123_x"
    assert nz.normalize_free_text("ｸｰﾎﾟﾝ") == "ｸｰﾎﾟﾝ"
    assert nz.normalize_free_text("会員ＡＢ１") == "会員ＡＢ１"
    with pytest.raises(ValidationError):
        nz.normalize_free_text("会員！")
    with pytest.raises(ValidationError, match="全角20"):
        nz.normalize_free_text("あ" * 21)
    with pytest.raises(ValidationError, match="半角40"):
        nz.normalize_free_text("a" * 41)
    assert nz.normalize_reason_text("お届け希望日変更") == "お届け希望日変更"
    with pytest.raises(ValidationError) as info:
        nz.normalize_reason_text("あ" * 26)
    assert info.value.field == "reasonReissueEtc"

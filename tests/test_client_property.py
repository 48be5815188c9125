"""Property: messy but valid customer data always normalises to a request the sandbox accepts.

"Messy" is what real checkouts send: half-width kana names, odd spaces, full-width digits,
〒 and hyphen variants in postal codes and phones, wave dashes, machine-dependent
characters and long item lists. "Valid" means a human would accept it (a prefecture first,
a street number, ≤50 characters once whitespace is collapsed, a real phone number).
"""
from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flask_kuroneko.yamato.codes import CreditDecision, SendDiv
from flask_kuroneko.yamato.datatypes import AuthorizationRequest, Buyer, Item
from flask_kuroneko.yamato.jptext import PREFECTURES
from flask_kuroneko.yamato.wire import JST

_counter = itertools.count(1)
TRIGGERS = {"9989", "9990", "9991", "9992", "9993", "9994", "9995", "9944"}
FULL_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")

spaces = st.sampled_from([" ", "　", "  ", " 　", "\t"])
pad = st.sampled_from(["", " ", "　", "  "])
family = st.sampled_from(["山田", "ﾔﾏﾀﾞ", "やまだ", "ヤマダ", "髙橋", "渡邊", "Smith", "ｽｽﾞｷ", "佐々木", "斎藤"])
given_ = st.sampled_from(["太郎", "ﾀﾛｳ", "はなこ", "ジョージ", "ｼﾞｮｰｼﾞ", "John", "ゆ〜こ", "まり～", "一郎"])
kana = st.sampled_from(["ヤマダ タロウ", "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "スズキ　ジョージ", "ｻｻｷ ﾊﾅｺ", None])
cities = st.sampled_from(["千代田区千代田", "ｻｯﾎﾟﾛ市中央区", "横浜市中区山下町", "大阪市北区梅田",
                          "那覇市おもろまち", "ﾅｺﾞﾔ市中区栄", "府中市宮町"])
hyphens = st.sampled_from(["-", "－", "‐", "−", "―", "–", "ー", "の"])
buildings = st.sampled_from(["", "ﾊﾟﾚｽﾋﾞﾙ", "グランドメゾン〜青山", "ハイツ～桜", "ｻﾝｼｬｲﾝ60", "㈱本社ビル",
                             "マンションⅡ", "第①ビル", "Tower-A"])
digits = st.integers(min_value=1, max_value=99).map(str)
item_names = st.sampled_from(["Tシャツ (L)", "〜限定〜ギフト", "マグカップ～青～", "①番人気セット", "Coffee Beans 200g",
                              "ﾊﾝｶﾁ", "送料", "手数料", "りんご🍎", "ｸｰﾎﾟﾝ値引", "¥500 OFF!", "a" * 40])


def maybe_full(text: str, flag: bool) -> str:
    return text.translate(FULL_DIGITS) if flag else text


@st.composite
def names(draw):
    return draw(pad) + draw(family) + draw(spaces) + draw(given_) + draw(pad)


@st.composite
def addresses(draw):
    parts = [draw(st.sampled_from(PREFECTURES)), draw(cities)]
    number = draw(hyphens).join(draw(st.lists(digits, min_size=1, max_size=3)))
    parts.append(maybe_full(number, draw(st.booleans())))
    building = draw(buildings)
    if building:
        parts.append(draw(spaces) + building + maybe_full(str(draw(st.integers(1, 1205))), draw(st.booleans())))
        if draw(st.booleans()):
            parts.append("号室")
    return draw(pad) + "".join(parts) + draw(pad)


@st.composite
def phones(draw, mobile: bool):
    if mobile:
        groups = [draw(st.sampled_from(["090", "080", "070"])), draw(st.from_regex(r"\A[0-9]{4}\Z")),
                  draw(st.from_regex(r"\A[0-9]{4}\Z"))]
    else:
        area = draw(st.sampled_from(["03", "06", "011", "045", "0120", "092"]))
        rest = draw(st.from_regex(r"\A[1-9][0-9]{%d}\Z" % (9 - len(area))))  # no 0 after the area code
        cut = len(rest) - 4
        groups = [area, rest[:cut], rest[cut:]]
    sep = draw(st.sampled_from(["-", "", " ", "－", "ー", "‐"]))
    text = sep.join(groups)
    if not mobile and draw(st.booleans()):
        text = f"{groups[0]}({groups[1]}){groups[2]}"
    return draw(pad) + maybe_full(text, draw(st.booleans())) + draw(pad)


@st.composite
def post_codes(draw):
    code = draw(st.from_regex(r"\A[0-9]{7}\Z").filter(lambda c: c not in ("0000000", "9999999")))
    fmt = draw(st.sampled_from(["{a}-{b}", "〒{a}-{b}", "〒 {a}{b}", "{a} {b}", "{a}－{b}", "{a}{b}"]))
    return maybe_full(fmt.format(a=code[:3], b=code[3:]), draw(st.booleans()))


@st.composite
def item_lists(draw):
    n = draw(st.integers(1, 14))
    items = []
    for _ in range(n):
        qty = draw(st.integers(1, 3))
        price = draw(st.integers(1, 2000))
        items.append(Item(draw(item_names), qty * price, qty, price))
    if draw(st.booleans()):
        items.append(Item("送料", draw(st.integers(0, 1000))))
    if draw(st.booleans()):
        discount = draw(st.integers(1, max(1, sum(i.subtotal for i in items) - 1)))
        if discount < sum(i.subtotal for i in items):
            items.append(Item("クーポン値引き", -discount))
    return items


@st.composite
def requests_(draw):
    mobile_sms = draw(st.booleans())
    buyer = Buyer(name=draw(names()), post_code=draw(post_codes()), address=draw(addresses()),
                  tel=draw(phones(mobile=mobile_sms or draw(st.booleans()))),
                  name_kana=draw(kana),
                  email=draw(st.sampled_from([None, "", " ｔａｒｏ@example.jp", "a.b+c@example.co.jp"])))
    items = draw(item_lists())
    return buyer, items, SendDiv.SMS if mobile_sms else SendDiv.SELF


def collapsed_length(text: str) -> int:
    return len(re.sub(r"\s+", " ", text.replace("　", " ")).strip())


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=requests_())
def test_messy_valid_data_is_accepted_by_the_sandbox(api_client, simulator, data):
    buyer, items, send_div = data
    digits_only = re.sub(r"\D", "", buyer.tel.translate({ord(c): str(i) for i, c in enumerate("０１２３４５６７８９")}))
    assume(digits_only[-4:] not in TRIGGERS)          # a sandbox scenario trigger
    assume(collapsed_length(buyer.address) <= 50)       # a human would also call it too long
    total = sum(i.subtotal for i in items)
    assume(1 <= total <= 50_000)                        # within the buyer's credit limit
    simulator.reset()
    today = datetime.now(JST).date()
    req = AuthorizationRequest(order_no=f"P{next(_counter):07d}", order_date=today,
                               ship_date=today + timedelta(days=2), buyer=buyer,
                               total_amount=total, items=tuple(items), send_div=send_div)
    result = api_client.authorize(req)           # raises on returnCode=1 or ValidationError
    expected = CreditDecision.UNDER_REVIEW if send_div is SendDiv.SMS else CreditDecision.APPROVED
    assert result.decision is expected
    assert result.raw["returnCode"] == "0"

"""Per-API validation tables (spec §3, §4.10, §6.4): which rule breaks which error code.

``field_errors`` runs every single-field check of one API and returns the failing code
numbers; the engine reports the lowest one, then runs the relational checks
(``relational_errors``), then the state checks (in ``operations.py``). Code numbers follow
the published tables (WOO/W2 numbering, spec v5.5); where a table has no code for a rule we
reuse the nearest one and say so in a comment.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from ..yamato import jptext
from ..yamato.codes import Operation
from . import checks, postal
from .clock import parse_ymd
from .config import MerchantConfig

logger = logging.getLogger(__name__)

PREFIX = {
    Operation.AUTHORIZE: "kaara", Operation.VERIFY_SMS: "kaasa",
    Operation.CREDIT_RESULT: "kaars", Operation.STATUS: "kaast", Operation.CANCEL: "kaacl",
    Operation.SHIPMENT: "kaasl", Operation.CHANGE_AMOUNT: "kaakk", Operation.REISSUE: "kaarr",
    Operation.PRINT_DATA: "kaasd",
}

ITEM_FIELDS = ("itemName", "itemCount", "unitPrice", "subTotal")
BASIC = ("ycfStrCode", "orderNo", "requestDate", "password")
KNOWN_PARAMS: dict[Operation, frozenset[str]] = {
    Operation.CREDIT_RESULT: frozenset(BASIC),
    Operation.STATUS: frozenset(BASIC),
    Operation.CANCEL: frozenset(BASIC),
    Operation.PRINT_DATA: frozenset(BASIC),
    Operation.SHIPMENT: frozenset(BASIC + ("processDiv", "paymentNo", "beforePaymentNo",
                                           "shipYmd")),
}


def code_of(op: Operation, number: int) -> str:
    return f"{PREFIX[op]}{number:03d}E"


@dataclass
class Auth:
    """Code numbers of the merchant/password checks of one API."""
    ycf: dict[str, int]
    unknown: int
    disabled: int
    pw: dict[str, int]
    pw_mismatch: int
    pw_max: int | None = None


def _auth(form: dict[str, str], merchant: MerchantConfig | None, spec: Auth) -> list[int]:
    errs: list[int] = []
    ycf_fails = checks.merchant_code(form.get("ycfStrCode", ""))
    errs += [spec.ycf[r] for r in ycf_fails]
    if not ycf_fails:
        if merchant is None:
            errs.append(spec.unknown)
        elif not merchant.usable:
            errs.append(spec.disabled)
    pw = form.get("password", "")
    pw_fails = checks.password(pw, max_len=spec.pw_max)
    errs += [spec.pw[r] for r in pw_fails if r in spec.pw]
    if "alnum" in pw_fails and "alnum" not in spec.pw:
        errs.append(spec.pw_mismatch)  # no "alnum" code in this API: it cannot match either
    if not pw_fails and merchant is not None and pw != merchant.password:
        errs.append(spec.pw_mismatch)
    return errs


def _map(mapping: dict[str, int], fails: list[str]) -> list[int]:
    return [mapping[r] for r in fails]


def _items(form: dict[str, str], c: dict[str, int]) -> list[int]:
    errs: list[int] = []
    if not form.get("itemName1"):
        errs.append(c["name_missing"])
    for n in range(1, 11):
        errs += _map({"fullwidth": c["name_fullwidth"], "length": c["name_length"],
                      "charset": c["name_charset"]},
                     checks.text(form.get(f"itemName{n}", ""), 30))
        errs += _map({"digits": c["count_digits"], "length": c["count_length"]},
                     checks.unsigned(form.get(f"itemCount{n}", ""), 4))
        for field, key in (("unitPrice", "price"), ("subTotal", "sub")):
            errs += _map({"chars": c[f"{key}_chars"], "minus_first": c[f"{key}_minus"],
                          "pos_length": c[f"{key}_pos"], "neg_length": c[f"{key}_neg"]},
                         checks.signed(form.get(f"{field}{n}", "")))
    return errs


def item_lines(form: dict[str, str]) -> list[dict[str, str]]:
    """The used item lines 1..10 (a line is used when any of its four fields is given)."""
    lines = []
    for n in range(1, 11):
        line = {f: form.get(f"{f}{n}", "") for f in ITEM_FIELDS}
        if any(line.values()):
            lines.append(line)
    return lines


def items_total(form: dict[str, str]) -> int:
    """Σ subTotal of the used lines; a missing subTotal counts as 0 (spec §6.4)."""
    return sum(int(line["subTotal"] or 0) for line in item_lines(form))


def _address(form: dict[str, str], prefix: str, c: dict[str, int], *,
             required: bool) -> list[int]:
    errs = _map({k: c[k] for k in ("missing", "fullwidth", "length", "charset", "prefecture")},
                checks.text(form.get(f"{prefix}ddress1", ""), 25, required=required,
                            prefecture=True))
    errs += _map({"fullwidth": c["a2_fullwidth"], "length": c["a2_length"],
                  "charset": c["a2_charset"]},
                 checks.text(form.get(f"{prefix}ddress2", ""), 25))
    return errs


def _request_date(form: dict[str, str], c: dict[str, int]) -> list[int]:
    return _map(c, checks.datetime14(form.get("requestDate", "")))


# --------------------------------------------------------------------------- KAARA0010

def _kaara(form: dict[str, str], m: MerchantConfig | None, numbering: str = "w2") -> list[int]:
    if m is not None:
        numbering = m.error_numbering
    if numbering == "eccube":
        ycf = {"missing": 1, "digits": 2, "length": 3}
        unknown = 4
    else:
        ycf = {"missing": 1, "length": 2, "digits": 3}
        unknown = 5
    errs = _auth(form, m, Auth(ycf, unknown, 5, {"missing": 90, "alnum": 91}, 92))
    errs += _map({"missing": 6, "halfwidth": 7, "charset": 7, "length": 8},
                 checks.order_no(form.get("orderNo", "")))
    errs += _map({"missing": 10, "digits": 11, "length": 12, "valid": 13},
                 checks.date8(form.get("orderYmd", "")))
    errs += _map({"missing": 14, "digits": 15, "length": 16, "valid": 17},
                 checks.date8(form.get("shipYmd", "")))
    errs += _map({"missing": 19, "fullwidth": 20, "length": 21, "charset": 22},
                 checks.text(form.get("name", ""), 30, required=True))
    errs += _map({"kana": 23, "length": 24},
                 checks.name_kana(form.get("nameKana", ""), m.name_kana_max if m else 80))
    exists = postal.exists_predicate(m)
    errs += _map({"missing": 25, "chars": 26, "hyphens": 27, "digits7": 28, "exists": 29,
                  "format": 105}, checks.postcode(form.get("postCode", ""), exists))
    errs += _address(form, "a", {"missing": 30, "fullwidth": 31, "length": 32, "charset": 33,
                                 "prefecture": 34, "a2_fullwidth": 35, "a2_length": 36,
                                 "a2_charset": 37}, required=True)
    errs += _map({"missing": 38, "chars": 39, "count": 40, "zero": 93},
                 checks.phone(form.get("telNum", ""), sms=form.get("sendDiv") == "3"))
    errs += _map({"halfwidth": 43, "length": 44, "at": 45}, checks.email(form.get("email", "")))
    errs += _map({"missing": 46, "digits": 47, "length": 48, "range": 49},
                 checks.amount(form.get("totalAmount", "")))
    errs += _send_div_kaara(form.get("sendDiv", ""), m)
    errs += _items(form, {"name_missing": 57, "name_fullwidth": 54, "name_length": 55,
                          "name_charset": 56, "count_digits": 58, "count_length": 59,
                          "price_chars": 60, "price_minus": 60, "price_pos": 61,
                          "price_neg": 62, "sub_chars": 63, "sub_minus": 63, "sub_pos": 64,
                          "sub_neg": 65})
    errs += _map({"fullwidth": 66, "length": 67, "charset": 68},
                 checks.text(form.get("sendName", ""), 30))
    errs += _map({"chars": 70, "hyphens": 71, "digits7": 72, "exists": 73, "format": 106},
                 checks.postcode(form.get("sendPostCode", ""), exists, required=False))
    errs += _address(form, "sendA", {"missing": 0, "fullwidth": 75, "length": 76,
                                     "charset": 77, "prefecture": 78, "a2_fullwidth": 79,
                                     "a2_length": 80, "a2_charset": 81}, required=False)
    errs += _map({"chars": 82, "hyphens": 83, "count": 84, "zero": 94},
                 checks.phone(form.get("sendTelNum", ""), required=False, two_hyphens=True))
    errs += _request_date(form, {"missing": 86, "digits": 87, "length": 88, "valid": 89})
    errs += _map({"charset": 95, "classes": 95, "length": 96},
                 checks.free_item(form.get("billPostCode", "")))
    return errs


def allowed_send_divs(m: MerchantConfig | None) -> set[str]:
    allowed = {"0", "1"}
    if m is not None:
        if m.contracts.bundle:
            allowed.add("2")
        if m.contracts.smartphone:
            allowed.add("3")
        if m.contracts.sms_validity:
            allowed.add("4")
    return allowed


def _send_div_kaara(value: str, m: MerchantConfig | None) -> list[int]:
    if not value:
        return [50]
    if not (value.isascii() and value.isdigit()):
        return [51]
    if value not in allowed_send_divs(m):
        return [53 if m is not None and m.contracts.bundle else 52]
    return []


def _kaara_relational(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    errs = []
    if form["shipYmd"] < form["orderYmd"]:
        errs.append(100)
    if items_total(form) != int(form["totalAmount"]):
        errs.append(101)
    if form["sendDiv"] == "1" and not (form.get("sendName") and form.get("sendPostCode")
                                       and form.get("sendAddress1")):
        errs.append(102)
    if not jptext.has_street_number(form["address1"] + form.get("address2", "")):
        errs.append(103)
    send = form.get("sendAddress1", "") + form.get("sendAddress2", "")
    if form.get("sendAddress1") and not jptext.has_street_number(send):
        errs.append(104)
    return errs


# --------------------------------------------------------------------------- KAASA0020

def _kaasa(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    errs = _auth(form, m, Auth({"missing": 1, "digits": 2, "length": 3}, 4, 4,
                               {"missing": 17, "alnum": 18, "length": 23}, 24, pw_max=8))
    errs += _map({"missing": 6, "halfwidth": 7, "charset": 7, "length": 7},
                 checks.order_no(form.get("orderNo", "")))
    errs += _map({"missing": 10, "digits": 11, "length": 12},
                 checks.unsigned(form.get("ninCode", ""), 4) or
                 ([] if form.get("ninCode") else ["missing"]))
    errs += _request_date(form, {"missing": 13, "digits": 14, "length": 15, "valid": 16})
    if m is not None and not m.contracts.smartphone and not errs:
        errs.append(4)  # no スマホタイプ contract: KAASA is not available to this merchant
    return errs


# --------------------------------------------------------------------------- short APIs

def _short(form: dict[str, str], m: MerchantConfig | None, *, ycf: dict[str, int],
           unknown: int, order: dict[str, int], date: dict[str, int], pw: dict[str, int],
           mismatch: int, underscore: bool = True) -> list[int]:
    errs = _auth(form, m, Auth(ycf, unknown, unknown, pw, mismatch))
    errs += _map(order, checks.order_no(form.get("orderNo", ""), underscore=underscore))
    errs += _request_date(form, date)
    return errs


def _kaars(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    # KAARS has no "merchant not usable" code: an unknown merchant fails authentication.
    return _short(form, m, ycf={"length": 2, "digits": 3, "missing": 4}, unknown=12,
                  order={"length": 5, "halfwidth": 6, "missing": 7, "charset": 14},
                  date={"valid": 9, "length": 9, "digits": 10, "missing": 11},
                  pw={"missing": 13}, mismatch=12)


def _kaast(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    return _short(form, m, ycf={"length": 2, "digits": 3, "missing": 4}, unknown=15,
                  order={"length": 5, "halfwidth": 6, "missing": 7, "charset": 14},
                  date={"valid": 9, "length": 9, "digits": 10, "missing": 11},
                  pw={"missing": 13}, mismatch=12)


def _kaacl(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    return _short(form, m, ycf={"length": 2, "digits": 3, "missing": 4}, unknown=17,
                  order={"length": 5, "halfwidth": 6, "missing": 7, "charset": 16},
                  date={"valid": 10, "length": 10, "digits": 11, "missing": 12},
                  pw={"missing": 14}, mismatch=13)


def _kaasd(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    return _short(form, m, ycf={"missing": 2, "length": 3, "digits": 4}, unknown=19,
                  order={"missing": 5, "length": 6, "halfwidth": 7, "charset": 16},
                  date={"missing": 11, "digits": 12, "length": 13, "valid": 13},
                  pw={"missing": 14}, mismatch=15, underscore=False)


# --------------------------------------------------------------------------- KAASL0010

def _kaasl(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    errs = _short(form, m, ycf={"length": 2, "digits": 3, "missing": 4}, unknown=41,
                  order={"length": 5, "halfwidth": 6, "missing": 7, "charset": 38},
                  date={"valid": 33, "length": 33, "digits": 34, "missing": 35},
                  pw={"missing": 37}, mismatch=36)
    pd = form.get("processDiv", "")
    if pd not in ("0", "1", "2", "9"):
        return errs + [19]
    slip = form.get("paymentNo", "")
    if pd == "9":
        if slip:
            errs.append(13)
        if form.get("shipYmd"):
            errs.append(26)     # W2: shipYmd must not be given when cancelling
        if form.get("beforePaymentNo"):
            errs.append(31)     # EC2/EC4 text of kaasl031E
        return errs
    if pd in ("0", "1"):
        errs += _map({"missing": 11, "length": 10, "chars": 12, "check_digit": 14,
                      "unusable": 15}, checks.slip(slip, check_digit=True))
    else:  # other carrier: a free reference, no check digit
        errs += _map({"missing": 11, "length": 10, "chars": 44},
                     checks.slip(slip, check_digit=False))
    errs += _map({"missing": 25, "digits": 24, "length": 23, "valid": 23},
                 checks.date8(form.get("shipYmd", ""), required=(pd == "1")))
    before = form.get("beforePaymentNo", "")
    if before and pd == "1":
        if len(before) > 12:
            errs.append(28)
        if not (before.isascii() and before.isprintable()):
            errs.append(29)
    return errs


# --------------------------------------------------------------------------- KAAKK0010

def _kaakk(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    errs = _auth(form, m, Auth({"missing": 1, "digits": 2, "length": 3}, 4, 4,
                               {"missing": 59, "length": 60}, 61, pw_max=8))
    if m is not None and m.usable and not m.contracts.amount_change:
        errs.append(4)  # EC4's text: 金額変更機能が利用できない加盟店コードです
    errs += _map({"missing": 5, "halfwidth": 6, "charset": 6, "ends": 6, "length": 7},
                 checks.order_no(form.get("orderNo", ""), alnum_ends=True))
    errs += _map({"digits": 13, "length": 14, "valid": 15},
                 checks.date8(form.get("shipYmd", ""), required=False))
    exists = postal.exists_predicate(m)
    errs += _map({"missing": 18, "chars": 19, "digits7": 20, "hyphens": 21, "format": 21,
                  "exists": 22}, checks.postcode(form.get("postCode", ""), exists))
    errs += _address(form, "a", {"missing": 23, "charset": 24, "fullwidth": 25, "length": 26,
                                 "prefecture": 27, "a2_charset": 28, "a2_fullwidth": 29,
                                 "a2_length": 30}, required=True)
    errs += _items(form, {"name_missing": 32, "name_charset": 33, "name_fullwidth": 34,
                          "name_length": 35, "count_digits": 36, "count_length": 37,
                          "price_chars": 38, "price_minus": 39, "price_pos": 40,
                          "price_neg": 41, "sub_chars": 42, "sub_minus": 43, "sub_pos": 44,
                          "sub_neg": 45})
    # A total of 0 has no published code; the simulator reports the amount-format code.
    errs += _map({"missing": 46, "digits": 47, "length": 48, "range": 48},
                 checks.amount(form.get("totalAmount", "")))
    errs += _send_div_change(form.get("sendDiv", ""), m, 53, 54, 55)
    errs += _map({"charset": 56, "classes": 57, "length": 58},
                 checks.free_item(form.get("billPostCode", "")))
    errs += _request_date(form, {"missing": 62, "digits": 63, "length": 64, "valid": 65})
    return errs


def _send_div_change(value: str, m: MerchantConfig | None, digits: int, values: int,
                     bundle: int) -> list[int]:
    """sendDiv of KAAKK/KAARR: 0 別送, 1 同梱 (contract); 2 (SMS, sent by WOO/W2) tolerated."""
    if not value:
        return []
    if not (value.isascii() and value.isdigit()):
        return [digits]
    if value not in ("0", "1", "2"):
        return [values]
    if value == "1" and not (m is not None and m.contracts.bundle):
        return [bundle]
    return []


def _address_house_number(form: dict[str, str], code: int) -> list[int]:
    if form.get("address1") and not jptext.has_street_number(
            form["address1"] + form.get("address2", "")):
        return [code]
    return []


# --------------------------------------------------------------------------- KAARR0010

def _kaarr(form: dict[str, str], m: MerchantConfig | None) -> list[int]:
    errs = _auth(form, m, Auth({"missing": 1, "digits": 2, "length": 3}, 4, 4,
                               {"missing": 10, "alnum": 11}, 12))
    errs += _map({"missing": 5, "halfwidth": 6, "charset": 6, "length": 7},
                 checks.order_no(form.get("orderNo", "")))
    rc = form.get("requestContents", "")
    if not rc:
        errs.append(13)
    elif rc not in ("1", "3"):
        errs.append(14)
    reason = form.get("reasonReissue", "")
    if rc == "1" and not reason:
        errs.append(18)
    elif reason and reason not in ("1", "2", "3", "4", "5", "6"):
        errs.append(19)
    etc = form.get("reasonReissueEtc", "")
    if reason == "6" and not etc:
        errs.append(20)
    errs += _map({"charset": 21, "fullwidth": 22, "length": 23}, checks.text(etc, 25))
    errs += _map({"digits": 25, "length": 26, "valid": 27},
                 checks.date8(form.get("shipYmd", ""), required=False))
    errs += _send_div_change(form.get("sendDiv", ""), m, 31, 32, 33)
    content = rc == "1"  # withdrawal (3) carries no new content
    exists = postal.exists_predicate(m)
    errs += _map({"missing": 34, "chars": 35, "digits7": 36, "hyphens": 37, "format": 37,
                  "exists": 38},
                 checks.postcode(form.get("postCode", ""), exists, required=content))
    errs += _address(form, "a", {"missing": 39, "fullwidth": 40, "charset": 41, "length": 42,
                                 "prefecture": 43, "a2_fullwidth": 44, "a2_charset": 45,
                                 "a2_length": 46}, required=content)
    errs += _address_house_number(form, 47)
    if content or any(form.get(f"{f}{n}") for f in ITEM_FIELDS for n in range(1, 11)):
        errs += _items(form, {"name_missing": 48, "name_fullwidth": 49, "name_charset": 50,
                              "name_length": 51, "count_digits": 52, "count_length": 53,
                              "price_chars": 54, "price_minus": 55, "price_pos": 56,
                              "price_neg": 57, "sub_chars": 63, "sub_minus": 64,
                              "sub_pos": 65, "sub_neg": 66})
    free = form.get("billPostCode", "")
    if free and not (m is not None and m.contracts.bundle):
        errs.append(58)
    errs += _map({"charset": 59, "classes": 60, "length": 61}, checks.free_item(free))
    return errs


FIELD_RULES: dict[Operation, Callable[[dict[str, str], MerchantConfig | None], list[int]]] = {
    Operation.AUTHORIZE: _kaara,
    Operation.VERIFY_SMS: _kaasa,
    Operation.CREDIT_RESULT: _kaars,
    Operation.STATUS: _kaast,
    Operation.CANCEL: _kaacl,
    Operation.SHIPMENT: _kaasl,
    Operation.CHANGE_AMOUNT: _kaakk,
    Operation.REISSUE: _kaarr,
    Operation.PRINT_DATA: _kaasd,
}


def field_error(op: Operation, form: dict[str, str], merchant: MerchantConfig | None,
                today: date | None = None, numbering: str = "w2") -> str | None:
    """The lowest failing single-field code of ``op`` (or the layout code in strict mode).

    ``today`` (simulator clock, JST) is the request day of KAARA's 90-day shipYmd window;
    ``numbering`` is the KAARA variant used when the merchant cannot be identified.
    """
    known = KNOWN_PARAMS.get(op)
    if known is not None and merchant is not None and merchant.strict_params:
        if set(form) - known:
            return code_of(op, 1)
    if op is Operation.AUTHORIZE:
        errs = _kaara(form, merchant, numbering)
    else:
        errs = FIELD_RULES[op](form, merchant)
    if op is Operation.CHANGE_AMOUNT:
        errs += _address_house_number(form, 31)
    if op is Operation.AUTHORIZE and today is not None:
        ship = parse_ymd(form.get("shipYmd", ""))
        if ship is not None and ship > today + timedelta(days=90):
            errs.append(18)
    return code_of(op, min(errs)) if errs else None


def relational_error(op: Operation, form: dict[str, str],
                     merchant: MerchantConfig | None) -> str | None:
    """Relational checks that need no stored state (run after the field checks pass)."""
    errs: list[int] = []
    if op is Operation.AUTHORIZE:
        errs = _kaara_relational(form, merchant)
    elif op is Operation.CHANGE_AMOUNT and items_total(form) != int(form["totalAmount"]):
        errs = [51]
    return code_of(op, min(errs)) if errs else None

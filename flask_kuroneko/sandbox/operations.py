"""State checks and effects of the nine APIs (spec §3, §6.5, §6.6, §6.7).

Each handler runs after the single-field and relational checks passed and returns
``(error_code or None, response fields)``. State checks run in ascending code order.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Callable

from ..yamato.codes import Operation
from ..yamato.codes import TransactionStatus as S
from . import lifecycle
from .clock import parse_ymd, ymd
from .config import MerchantConfig
from .context import Context
from .rules import code_of, item_lines

logger = logging.getLogger(__name__)

Result = tuple["str | None", dict]
BILLING_FIELDS = ("name", "nameKana", "postCode", "address1", "address2", "telNum", "email")
DELIVERY_FIELDS = ("sendName", "sendPostCode", "sendAddress1", "sendAddress2", "sendTelNum")


def digits_of(tel: str) -> str:
    return tel.replace("-", "")


def sms_code_for(m: MerchantConfig, merchant: str, order_no: str) -> str:
    if m.sms.code != "derived":
        return m.sms.code
    return str(int(hashlib.sha256((merchant + order_no).encode()).hexdigest(), 16))[-4:]


def buyer_outstanding(ctx: Context, buyer: str, *, exclude: tuple[str, str] | None = None) -> int:
    """Σ current_total of the buyer's live transactions (buyer = telNum digits), across
    merchants; an indexed read (``txindex.TxIndex.live_total``)."""
    return ctx.session.buyer_live_total(buyer, exclude=exclude)


def _ninety_days_after_request(tx: dict) -> str:
    return ymd(parse_ymd(tx["request_day"]) + timedelta(days=90))


# --------------------------------------------------------------------------- KAARA0010

def authorize(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.AUTHORIZE
    merchant, order_no = form["ycfStrCode"], form["orderNo"]
    if ctx.get_tx(merchant, order_no) is not None:
        return code_of(op, 9), {}
    tel = digits_of(form["telNum"])
    suffix = tel[-4:]
    if suffix == "9990":
        logger.info("sandbox trigger 9990: err0001 for %s/%s", merchant, order_no)
        return "err0001", {}
    now = ctx.now
    send_div = int(form["sendDiv"])
    total = int(form["totalAmount"])
    over_limit = buyer_outstanding(ctx, tel) + total > m.credit_limit_per_buyer
    tx = new_transaction(ctx, form, m)
    review_final: int | None = None
    push_ok_now = False
    if suffix == "9991":
        result = 1
    elif suffix == "9992":
        result = 2
    elif send_div == 3:
        result = 2 if over_limit else 3
    elif send_div == 4:
        if suffix == "9993":
            result, review_final = 3, 0
        elif suffix == "9944":
            result, review_final = 3, 1
        elif over_limit:
            result = 2
        else:
            result, push_ok_now = 0, True
    elif suffix in ("9993", "9994", "9995"):
        result, review_final = 3, {"9993": 0, "9994": 1, "9995": 2}[suffix]
    elif over_limit:
        result = 2
    else:
        result = 0
        if suffix == "9989":
            tx["flip_ng_due"] = (now + timedelta(seconds=m.review_delay_seconds)).isoformat()
    tx["review_result"] = result
    tx["status"] = {0: S.APPROVED, 1: S.NOT_AVAILABLE, 2: S.NOT_AVAILABLE,
                    3: S.UNDER_REVIEW}[result].value
    tx["history"].append({"at": now.isoformat(), "event": "authorize", "from": None,
                          "to": tx["status"], "result": result,
                          "over_limit": over_limit})
    if review_final is not None:
        tx["review_final"] = review_final
        tx["review_due"] = (now + timedelta(seconds=m.review_delay_seconds)).isoformat()
    if send_div == 3 and result == 3:
        _send_sms(ctx, tx, m, undeliverable=(suffix == "9944"))
    ctx.save(tx)
    if push_ok_now:
        lifecycle.validity_push(ctx, tx, sns=0, yuu=0)
    return None, {"result": result}


def new_transaction(ctx: Context, form: dict[str, str], m: MerchantConfig) -> dict:
    now = ctx.now
    snapshot = {k: v for k, v in form.items() if k != "password"}
    total = int(form["totalAmount"])
    return {
        "merchant": form["ycfStrCode"], "orderNo": form["orderNo"], "seq": ctx.next_seq(),
        "created_at": now.isoformat(), "request_day": ymd(now),
        "status": 0, "status_changed_at": now.isoformat(), "review_result": None,
        "warning": 0, "warning_manual": None,
        "sendDiv": int(form["sendDiv"]), "orderYmd": form["orderYmd"],
        "shipYmd": form["shipYmd"], "initial_total": total, "current_total": total,
        "items": item_lines(form),
        "billing": {k: form.get(k, "") for k in BILLING_FIELDS},
        "delivery": {k: form.get(k, "") for k in DELIVERY_FIELDS},
        "billPostCode": form.get("billPostCode", ""),
        "buyer": digits_of(form["telNum"]),
        "slips": [], "sms": None,
        "reissue": {"count": 0, "pending": False, "records": []},
        "print_data_downloaded": False, "amount_changes": [],
        "request": snapshot, "history": [],
    }


def _send_sms(ctx: Context, tx: dict, m: MerchantConfig, *, undeliverable: bool) -> None:
    now = ctx.now
    code = sms_code_for(m, tx["merchant"], tx["orderNo"])
    tx["sms"] = {"code": code, "sent_at": now.isoformat(),
                 "expires_at": (now + timedelta(seconds=m.sms.ttl_seconds)).isoformat(),
                 "wrong_attempts": 0, "state": "pending", "undeliverable": undeliverable,
                 "telNum": tx["billing"]["telNum"]}
    if not undeliverable:
        ctx.sms_sent({"merchant": tx["merchant"], "orderNo": tx["orderNo"],
                      "telNum": tx["billing"]["telNum"], "code": code,
                      "sent_at": now.isoformat()})


# --------------------------------------------------------------------------- KAASA0020

def verify_sms(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.VERIFY_SMS
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None:
        return code_of(op, 20), {}
    sms = tx.get("sms")
    now = ctx.now
    if sms and sms["state"] == "expired":
        sms["state"] = "expired_reported"
        lifecycle.note(tx, now, "sms_verify", result=3)
        ctx.save(tx)
        return None, {"result": 3}
    if sms and sms["state"] == "locked":
        return code_of(op, 21), {}
    if not sms or sms["state"] != "pending":
        return None, {"result": 5}
    if sms["undeliverable"]:
        return None, {"result": 4}
    if form["ninCode"] == sms["code"]:
        sms["state"] = "authenticated"
        tx["review_result"] = 0
        lifecycle.set_status(tx, S.APPROVED, now, "sms_authenticated")
        lifecycle.sms_push(ctx, tx, sns=0, nin=0)
        ctx.save(tx)
        return None, {"result": 1}
    sms["wrong_attempts"] += 1
    lifecycle.note(tx, now, "sms_verify", result=2, attempts=sms["wrong_attempts"])
    if sms["wrong_attempts"] >= m.sms.max_attempts:
        lifecycle.lock_sms(ctx, tx, now)
    ctx.save(tx)
    return None, {"result": 2}


# --------------------------------------------------------------------------- queries

def credit_result(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None or tx["status"] == S.CANCELLED:
        return code_of(Operation.CREDIT_RESULT, 8), {}
    return None, {"result": tx["review_result"]}


def status(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None:
        return code_of(Operation.STATUS, 8), {}
    return None, {"result": tx["status"], "warning": tx["warning"]}


# --------------------------------------------------------------------------- KAACL0010

def cancel(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.CANCEL
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None:
        return code_of(op, 8), {}
    if tx["status"] in (S.CANCELLED, S.UNDER_REVIEW, S.VOIDED, S.NOT_AVAILABLE):
        return code_of(op, 9), {}
    if tx["status"] == S.PAID:
        return code_of(op, 15), {}
    removed = [s["paymentNo"] for s in tx["slips"]]
    tx["slips"] = []
    tx.pop("shipped_at", None)
    lifecycle.set_status(tx, S.CANCELLED, ctx.now, "cancelled", removed_slips=removed)
    ctx.save(tx)
    return None, {}


# --------------------------------------------------------------------------- KAASL0010

SHIP_NEW_OK = (S.APPROVED, S.SLIP_REGISTERED, S.DELIVERY_INVESTIGATION, S.WARNING_MAIL_SENT)
SHIP_CHANGE_OK = (S.SLIP_REGISTERED, S.DELIVERY_INVESTIGATION, S.WARNING_MAIL_SENT)


def _norm_slip(value: str, process_div: int) -> str:
    return value.replace("-", "") if process_div in (0, 1) else value


def shipment(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.SHIPMENT
    merchant = form["ycfStrCode"]
    tx = ctx.get_tx(merchant, form["orderNo"])
    if tx is None:
        return code_of(op, 8), {}
    pd = int(form["processDiv"])
    slip = _norm_slip(form.get("paymentNo", ""), pd)
    registered = [s["paymentNo"] for s in tx["slips"]]
    if pd in (0, 2):
        if slip in registered:
            return code_of(op, 9), {}
        if len(registered) >= 10:
            return code_of(op, 17), {}
        if tx["status"] not in SHIP_NEW_OK:
            return code_of(op, 20), {}
    elif tx["status"] not in SHIP_CHANGE_OK or not registered:
        return code_of(op, 22), {}
    ship = form.get("shipYmd", "")
    if ship and ship < tx["orderYmd"]:
        return code_of(op, 27), {}
    before = _norm_slip(form.get("beforePaymentNo", ""), 0)
    if pd == 1:
        if before:
            if before not in registered:
                return code_of(op, 32), {}
        elif len(registered) != 1:
            return code_of(op, 32), {}   # which slip to replace is ambiguous
        else:
            before = registered[0]
    if ship and ship > _ninety_days_after_request(tx):
        return code_of(op, 42), {}
    if pd in (0, 1) and _orders_with_slip(ctx, merchant, slip, tx["orderNo"]) >= 3:
        return code_of(op, 45), {}
    now = ctx.now
    if ship:
        tx["shipYmd"] = ship
    if pd == 9:
        tx["slips"] = []
        tx.pop("shipped_at", None)
        lifecycle.set_status(tx, S.APPROVED, now, "shipment_cancelled", removed_slips=registered)
    elif pd == 1:
        for entry in tx["slips"]:
            if entry["paymentNo"] == before:
                entry.update(paymentNo=slip, processDiv=1, registered_at=now.isoformat())
        lifecycle.note(tx, now, "slip_changed", before=before, after=slip)
    else:
        tx["slips"].append({"paymentNo": slip, "processDiv": pd,
                            "registered_at": now.isoformat()})
        if tx["status"] != S.SLIP_REGISTERED:   # 1, 5 or 6 -> 3 (spec §6.5)
            tx["shipped_at"] = now.isoformat()
            tx["warning_manual"] = None
            lifecycle.set_status(tx, S.SLIP_REGISTERED, now, "slip_registered",
                                 paymentNo=slip, processDiv=pd)
        else:
            lifecycle.note(tx, now, "slip_added", paymentNo=slip, processDiv=pd)
    ctx.save(tx)
    return None, {}


def _orders_with_slip(ctx: Context, merchant: str, slip: str, own_order: str) -> int:
    """The merchant's other not-cancelled orders carrying ``slip`` (an indexed read)."""
    return len(ctx.session.slip_holders(merchant, slip) - {(merchant, own_order)})


# --------------------------------------------------------------------------- KAAKK0010

AMOUNT_CHANGE_OK = (S.APPROVED, S.SLIP_REGISTERED, S.DELIVERY_INVESTIGATION,
                    S.SALES_CONFIRMED, S.INVOICE_ISSUED)


def change_amount(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.CHANGE_AMOUNT
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None:
        return code_of(op, 8), {}
    if tx["review_result"] != 0:
        return code_of(op, 9), {}
    if tx["status"] not in AMOUNT_CHANGE_OK:
        return code_of(op, 11), {}
    ship = form.get("shipYmd", "")
    if ship and ship < tx["orderYmd"]:
        return code_of(op, 16), {}
    if ship and ship > _ninety_days_after_request(tx):
        return code_of(op, 17), {}
    total = int(form["totalAmount"])
    if total == tx["current_total"]:
        return code_of(op, 49), {}
    if m.amount_increase == "deny":
        if total >= tx["initial_total"]:
            return code_of(op, 50), {}
    elif total > tx["current_total"]:
        outstanding = buyer_outstanding(ctx, tx["buyer"],
                                        exclude=(tx["merchant"], tx["orderNo"]))
        if outstanding + total > m.credit_limit_per_buyer:
            return code_of(op, 50), {}
    now = ctx.now
    old = tx["current_total"]
    tx["current_total"] = total
    tx["items"] = item_lines(form)
    tx["billing"].update({k: form.get(k, "") for k in ("postCode", "address1", "address2")})
    if ship:
        tx["shipYmd"] = ship
    if form.get("billPostCode"):
        tx["billPostCode"] = form["billPostCode"]
    tx["amount_changes"].append({"at": now.isoformat(), "from": old, "to": total})
    lifecycle.note(tx, now, "amount_changed", old=old, new=total)
    ctx.save(tx)
    return None, {}


# --------------------------------------------------------------------------- KAARR0010

REISSUE_LIMIT = 8  # ≤7 prior reissues allowed ("7回以下"), so the 9th invoice is the last


def reissue(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.REISSUE
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None:
        return code_of(op, 8), {}
    now = ctx.now
    if form["requestContents"] == "3":
        if not tx["reissue"]["pending"]:
            return code_of(op, 17), {}
        tx["reissue"]["pending"] = False
        tx["reissue"]["records"].append({"at": now.isoformat(), "withdrawn": True})
        lifecycle.note(tx, now, "reissue_withdrawn")
        ctx.save(tx)
        return None, {"reissueCode": ""}
    if tx["reissue"]["count"] >= REISSUE_LIMIT:
        return code_of(op, 9), {}
    if tx["status"] in (S.CANCELLED, S.PAID):
        return code_of(op, 15), {}
    if tx["status"] not in (S.SALES_CONFIRMED, S.INVOICE_ISSUED):
        return code_of(op, 16), {}
    ship = form.get("shipYmd", "")
    if ship and ship > _ninety_days_after_request(tx):
        return code_of(op, 28), {}
    if ship and ship < tx["orderYmd"]:
        return code_of(op, 29), {}
    if sum(int(line["subTotal"] or 0) for line in item_lines(form)) != tx["current_total"]:
        return code_of(op, 67), {}
    tx["reissue"]["count"] += 1
    tx["reissue"]["pending"] = True
    tx["reissue"]["records"].append({
        "at": now.isoformat(), "reason": form.get("reasonReissue", ""),
        "reasonEtc": form.get("reasonReissueEtc", "")})
    tx["items"] = item_lines(form)
    tx["billing"].update({k: form.get(k, "") for k in ("postCode", "address1", "address2")})
    if form.get("billPostCode"):
        tx["billPostCode"] = form["billPostCode"]
    lifecycle.note(tx, now, "reissue_requested", count=tx["reissue"]["count"])
    ctx.save(tx)
    return None, {"reissueCode": "1"}


# --------------------------------------------------------------------------- KAASD0010

def print_data(ctx: Context, form: dict[str, str], m: MerchantConfig) -> Result:
    op = Operation.PRINT_DATA
    tx = ctx.get_tx(form["ycfStrCode"], form["orderNo"])
    if tx is None:
        return code_of(op, 8), {}
    if tx["status"] not in (S.APPROVED, S.SLIP_REGISTERED):
        return code_of(op, 9), {}
    if tx["sendDiv"] != 2:
        return code_of(op, 10), {}
    now = ctx.now
    tx["print_data_downloaded"] = True
    lifecycle.note(tx, now, "print_data_downloaded")
    ctx.save(tx)
    return None, print_fields(tx, m, now)


def print_fields(tx: dict, m: MerchantConfig, now) -> dict:
    """Synthetic invoice print data: deterministic dummies derived from the orderNo."""
    seed = str(int(hashlib.sha256(f"{tx['merchant']}{tx['orderNo']}".encode()).hexdigest(), 16))
    claim = now.date()
    fields: dict[str, object] = {
        "postCode": tx["billing"]["postCode"], "address1": tx["billing"]["address1"],
        "address2": tx["billing"]["address2"], "name": tx["billing"]["name"],
        "claimDate": ymd(claim), "buyStore": m.shop_name, "hpAddress": m.shop_url,
        "telNum": m.shop_tel, "email": m.shop_email,
        "orderDate": tx["orderYmd"], "claimSum": tx["current_total"],
        "maturity": ymd(claim + timedelta(days=14)),
        "accountNo1": f"00100-{seed[:1]}-{seed[1:7]}", "accountNo2": f"{seed[7:10]}-{seed[10:17]}",
        "memberName": "ヤマトクレジットファイナンス（株）", "recipient": "ヤマトクレジットファイナンス（株）",
        "buyerName": tx["billing"]["name"], "buyName": m.shop_name,
        "inquiryNo": seed[:12], "upperOcrCode": seed[:30], "lowerOcrCode": seed[30:60],
        "barCode": "91" + seed[:42], "billPostCode": tx.get("billPostCode", ""),
    }
    for n, line in enumerate(tx["items"], start=1):
        for key, value in line.items():
            fields[f"{key}{n}"] = value
    return fields


HANDLERS: dict[Operation, Callable[[Context, dict[str, str], MerchantConfig], Result]] = {
    Operation.AUTHORIZE: authorize,
    Operation.VERIFY_SMS: verify_sms,
    Operation.CREDIT_RESULT: credit_result,
    Operation.STATUS: status,
    Operation.CANCEL: cancel,
    Operation.SHIPMENT: shipment,
    Operation.CHANGE_AMOUNT: change_amount,
    Operation.REISSUE: reissue,
    Operation.PRINT_DATA: print_data,
}

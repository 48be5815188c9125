"""The simulator core: one lock, one store session per call, the API engine and the
Python twins of the back-office API (spec §6).

``handle`` is the pure API (validation → state → XML); ``exchange`` adds the fault layer
and raw-body decoding, and is what both transports (the WSGI app and ``SandboxAdapter``)
call. Pushes are delivered after the lock is released, so a shop that calls the sandbox
from its push receiver cannot deadlock it.
"""
from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

import requests

from ..yamato.codes import Operation
from . import clock, faults, lifecycle, rules
from .config import DEFAULT_MERCHANT_CODE, MerchantConfig
from .context import MERCHANTS_META, OUTBOX_LOG, PUSH_LOG, Context
from .operations import HANDLERS
from .render import render
from .store import Backend, MemoryStore, Session

logger = logging.getLogger(__name__)

PushTransport = Callable[[str, dict], int]
DEFAULT_CONTENT_TYPE = "text/xml; charset=UTF-8"
ERROR_500_BODY = (b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
                  b"<body><h1>Internal Server Error</h1></body></html>")


def http_push(url: str, data: dict) -> int:
    """Default push transport: one form POST with requests (no retry, spec §6.9)."""
    response = requests.post(url, data=data, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    return response.status_code


@dataclass
class Exchange:
    """What a transport must do with one API request."""
    status: int
    headers: dict[str, str]
    body: bytes
    transport: str | None = None   # None | "refuse" | "drop" | "timeout"
    processed: bool = True
    fault: dict[str, Any] | None = None


class Simulator:
    """An offline Yamato クロネコ代金後払い service (spec §6)."""

    def __init__(self, merchants: dict[str, MerchantConfig] | None = None,
                 store: Backend | None = None, *,
                 push_transport: PushTransport | None = None,
                 content_type: str = DEFAULT_CONTENT_TYPE):
        if merchants is None:
            merchants = {DEFAULT_MERCHANT_CODE: MerchantConfig()}
        self._merchants = {code: (m if isinstance(m, MerchantConfig)
                                  else MerchantConfig.from_dict(m))
                           for code, m in merchants.items()}
        self.store = store if store is not None else MemoryStore()
        self.push_transport: PushTransport = push_transport or http_push
        self.content_type = content_type
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<Simulator merchants={sorted(self._merchants)} store={type(self.store).__name__}>"

    # ------------------------------------------------------------------ sessions

    @contextmanager
    def _session(self, *, apply_due: bool = True) -> Iterator[Context]:
        with self._lock:
            self.store.begin()
            try:
                session = Session(self.store)
                ctx = Context(session, clock.now_from(session.get_meta("clock")), self._merchants)
                if apply_due:
                    ctx.apply_due()
                yield ctx
                session.commit()
            finally:
                self.store.end()
        self._deliver(ctx.pushes)

    def _deliver(self, pushes: list[tuple[str, dict, dict]]) -> None:
        for url, data, meta in pushes:
            entry = dict(meta, url=url, data=data)
            try:
                entry["status"] = int(self.push_transport(url, data))
            except Exception as exc:  # the merchant's endpoint is not our problem
                entry["status"] = None
                entry["error"] = f"{type(exc).__name__}: {exc}"
                logger.warning("sandbox push to %s failed: %s", url, entry["error"])
            else:
                logger.info("sandbox push %s/%s giftKb=%s -> %s", data["ycfStrNo"],
                            data["juchuNo"], data["giftKb"], entry["status"])
            with self._lock:
                self.store.begin()
                try:
                    session = Session(self.store)
                    session.append_log(PUSH_LOG, entry, (data["ycfStrNo"], data["juchuNo"]))
                    session.commit()
                finally:
                    self.store.end()

    def _numbering(self, ctx: Context) -> str:
        """KAARA numbering for requests whose merchant cannot be identified: the variant
        all registered merchants share, else "w2"."""
        variants = {m.error_numbering for m in self._merchants.values()}
        variants |= {m.get("error_numbering", "w2")
                     for m in ctx.session.get_meta(MERCHANTS_META, {}).values()}
        return variants.pop() if len(variants) == 1 else "w2"

    # ------------------------------------------------------------------ the API

    def handle(self, code: str, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Process one API call; returns (HTTP status, headers, body). No faults here."""
        try:
            op = Operation(code)
        except ValueError:
            return 404, {"Content-Type": "text/plain; charset=UTF-8"}, b"Not Found"
        with self._session() as ctx:
            m = ctx.merchant(form.get("ycfStrCode", ""))
            error = (rules.field_error(op, form, m, ctx.now.date(), self._numbering(ctx))
                     or rules.relational_error(op, form, m))
            fields: dict = {}
            if error is None:
                error, fields = HANDLERS[op](ctx, form, m)
            body = self._render(op, form, m, ctx.now, error=error, fields=fields)
        logger.info("sandbox %s %s/%s -> %s", op.value, form.get("ycfStrCode", ""),
                    form.get("orderNo", ""), error or f"ok {fields.get('result', '')}".strip())
        return 200, {"Content-Type": self.content_type}, body

    def _render(self, op: Operation, form: dict[str, str], m: MerchantConfig | None,
                now: datetime, *, error: str | None, fields: dict | None = None) -> bytes:
        request_date = clock.stamp(now) if op is Operation.REISSUE else form.get("requestDate", "")
        return render(op, form, error=error, fields=fields,
                      date_fields=m.date_fields if m else "both",
                      return_date=clock.stamp(now), request_date=request_date)

    def exchange(self, code: str, raw_body: bytes, *, read_timeout: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> Exchange:
        """Decode, apply faults, process: the shared core of both transports."""
        try:
            op = Operation(code)
        except ValueError:
            return Exchange(404, {"Content-Type": "text/plain; charset=UTF-8"}, b"Not Found")
        form = decode_form(raw_body)
        fault = self._take_fault(op, form or {})
        kind = fault["kind"] if fault else None
        if kind == "refuse":
            return Exchange(0, {}, b"", transport="refuse", processed=False, fault=fault)
        if kind == "http500":
            return Exchange(500, {"Content-Type": "text/html; charset=UTF-8"}, ERROR_500_BODY,
                            processed=False, fault=fault)
        if kind == "error":
            return self._system_error(op, form or {}, fault["error_code"], fault)
        if kind == "latency" and not fault["after_processing"]:
            if read_timeout is not None and fault["seconds"] > read_timeout:
                sleep(min(fault["seconds"], 0.005))
                return Exchange(0, {}, b"", transport="timeout", processed=False, fault=fault)
            sleep(fault["seconds"])
        if form is None:
            result = self._system_error(op, {}, "err0001", None)
        else:
            status, headers, body = self.handle(code, form)
            result = Exchange(status, headers, body)
        result.fault = fault
        if kind == "latency" and fault["after_processing"]:
            if read_timeout is not None and fault["seconds"] > read_timeout:
                sleep(min(fault["seconds"], 0.005))
                result.transport = "timeout"
            else:
                sleep(fault["seconds"])
        elif kind == "drop":
            result.transport = "drop"
        elif kind == "malformed":
            result.body = result.body[: max(len(result.body) // 2, 1)]
        return result

    def _system_error(self, op: Operation, form: dict[str, str], error_code: str,
                      fault: dict | None) -> Exchange:
        with self._session(apply_due=False) as ctx:
            m = ctx.merchant(form.get("ycfStrCode", ""))
            body = self._render(op, form, m, ctx.now, error=error_code)
        return Exchange(200, {"Content-Type": self.content_type}, body,
                        processed=False, fault=fault)

    def _take_fault(self, op: Operation, form: dict[str, str]) -> dict | None:
        with self._session(apply_due=False) as ctx:
            current = ctx.session.get_meta("faults", [])
            fault, remaining = faults.take(current, op, form)
            if fault is not None:
                ctx.session.put_meta("faults", remaining)
        return fault

    # ------------------------------------------------------------------ faults

    def inject_fault(self, kind: str, *, operation: str | Operation | None = None,
                     order_no: str | None = None, merchant: str | None = None,
                     times: int | None = 1, seconds: float | None = None,
                     error_code: str | None = None, after_processing: bool = True) -> dict:
        """Arm a fault (see ``faults.py`` for each kind's meaning); returns it with its id."""
        fault = faults.make_fault(kind, operation=operation, order_no=order_no,
                                  merchant=merchant, times=times, seconds=seconds,
                                  error_code=error_code, after_processing=after_processing)
        with self._session(apply_due=False) as ctx:
            fault["id"] = ctx.next_seq("fault")
            current = ctx.session.get_meta("faults", [])
            current.append(fault)
            ctx.session.put_meta("faults", current)
        return fault

    def clear_faults(self) -> None:
        with self._session(apply_due=False) as ctx:
            ctx.session.put_meta("faults", [])

    def faults(self) -> list[dict]:
        with self._session(apply_due=False) as ctx:
            return ctx.session.get_meta("faults", [])

    # ------------------------------------------------------------------ clock

    def now(self) -> datetime:
        with self._session(apply_due=False) as ctx:
            return ctx.now

    def set_now(self, moment: datetime | None) -> None:
        """Freeze the clock at ``moment`` (naive = JST); None returns to real time."""
        with self._session(apply_due=False) as ctx:
            ctx.session.put_meta("clock", clock.frozen_at(moment) if moment else
                                 {"frozen": None, "offset": 0})

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and apply whatever became due."""
        with self._session(apply_due=False) as ctx:
            ctx.session.put_meta("clock", clock.advanced(ctx.session.get_meta("clock"),
                                                         seconds))
        return self.tick()

    def tick(self) -> datetime:
        """Apply the clock-driven changes due now (every API call does so first)."""
        with self._session() as ctx:
            return ctx.now

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget transactions, SMS outbox, push log, faults and the clock setting.
        Merchant settings changed with ``configure_merchant`` are kept."""
        with self._session(apply_due=False) as ctx:
            ctx.session.clear_transactions()
            for name in (OUTBOX_LOG, PUSH_LOG):
                ctx.session.clear_log(name)
            ctx.session.put_meta("faults", [])
            ctx.session.put_meta("clock", {"frozen": None, "offset": 0})
        logger.info("sandbox reset")

    def transaction(self, merchant_code: str, order_no: str) -> dict | None:
        with self._session() as ctx:
            return ctx.get_tx(merchant_code, order_no)

    def transactions(self, merchant_code: str | None = None) -> list[dict]:
        """Every transaction (of one merchant), oldest first. Reads them all: for a page,
        use ``recent_transactions``."""
        with self._session() as ctx:
            return [refreshed(ctx, tx) for tx in ctx.session.all_tx(merchant_code)]

    def recent_transactions(self, limit: int, merchant_code: str | None = None) -> list[dict]:
        """The ``limit`` most recently created transactions, newest first."""
        with self._session() as ctx:
            return [refreshed(ctx, tx) for tx in ctx.session.latest_tx(limit, merchant_code)]

    @property
    def sms_outbox(self) -> list[dict]:
        """Every SMS "sent", oldest first."""
        with self._session(apply_due=False) as ctx:
            return ctx.session.read_log(OUTBOX_LOG)

    def recent_sms(self, limit: int) -> list[dict]:
        """The last ``limit`` SMS of the outbox, oldest first."""
        with self._session(apply_due=False) as ctx:
            return ctx.session.read_log(OUTBOX_LOG, limit=limit)

    def sms_messages(self, merchant_code: str, order_no: str) -> list[dict]:
        """The SMS "sent" for one transaction (an indexed read of the outbox)."""
        with self._session(apply_due=False) as ctx:
            return ctx.session.read_log(OUTBOX_LOG, (merchant_code, order_no))

    @property
    def push_log(self) -> list[dict]:
        with self._session(apply_due=False) as ctx:
            return ctx.session.read_log(PUSH_LOG)

    def sms_code(self, merchant_code: str, order_no: str) -> str | None:
        """The code "sent" to the buyer of a スマホタイプ order (None if no SMS)."""
        tx = self.transaction(merchant_code, order_no)
        if tx is None or not tx.get("sms"):
            return None
        return tx["sms"]["code"]

    # ------------------------------------------------------------------ merchants

    def merchant(self, code: str) -> MerchantConfig | None:
        with self._session(apply_due=False) as ctx:
            return ctx.merchant(code)

    def merchants(self) -> dict[str, MerchantConfig]:
        with self._session(apply_due=False) as ctx:
            codes = set(self._merchants) | set(ctx.session.get_meta(MERCHANTS_META, {}))
            return {code: ctx.merchant(code) for code in sorted(codes)}

    def configure_merchant(self, code: str, **changes: Any) -> MerchantConfig:
        """Change (or create) a merchant; persisted in the store so every process sees it."""
        with self._session(apply_due=False) as ctx:
            base = ctx.merchant(code) or MerchantConfig()
            updated = base.changed(**changes)
            stored = ctx.session.get_meta(MERCHANTS_META, {})
            stored[code] = updated.to_dict()
            ctx.session.put_meta(MERCHANTS_META, stored)
        logger.info("sandbox merchant %s configured: %s", code, sorted(changes))
        return updated

    # ------------------------------------------------------------------ back office

    def _backoffice(self, merchant_code: str, order_no: str,
                    action: Callable[[Context, dict], None]) -> dict:
        with self._session() as ctx:
            tx = ctx.get_tx(merchant_code, order_no)
            if tx is None:
                raise lifecycle.UnknownTransaction(f"no transaction {merchant_code}/{order_no}")
            action(ctx, tx)
            ctx.save(tx)
            return tx

    def deliver(self, merchant_code: str, order_no: str) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.deliver(ctx, tx, ctx.now))

    def investigate(self, merchant_code: str, order_no: str) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.investigate(ctx, tx, ctx.now))

    def warn(self, merchant_code: str, order_no: str, warning: int) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.warn(ctx, tx, int(warning), ctx.now))

    def invoice(self, merchant_code: str, order_no: str) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.invoice(ctx, tx, ctx.now))

    def pay(self, merchant_code: str, order_no: str) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.pay(ctx, tx, ctx.now))

    def resolve_review(self, merchant_code: str, order_no: str, result: int) -> dict:
        return self._backoffice(
            merchant_code, order_no,
            lambda ctx, tx: lifecycle.resolve_review(ctx, tx, int(result), ctx.now))

    def flip_ng(self, merchant_code: str, order_no: str) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.flip_ng(ctx, tx, ctx.now))

    def expire_sms(self, merchant_code: str, order_no: str) -> dict:
        return self._backoffice(merchant_code, order_no,
                                lambda ctx, tx: lifecycle.expire_sms(ctx, tx, ctx.now))


def refreshed(ctx: Context, tx: dict) -> dict:
    """``tx`` with its 警報情報区分 as of now (it depends on the date)."""
    tx["warning"] = lifecycle.current_warning(tx, ctx.now)
    return tx


def decode_form(raw_body: bytes) -> dict[str, str] | None:
    """UTF-8 urlencoded form, whatever charset the request declared; None if undecodable.
    The first value of a repeated key wins."""
    try:
        text = raw_body.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8",
                                       errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form

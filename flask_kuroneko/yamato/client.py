"""Yamato クロネコ代金後払い HTTP API client: one method per endpoint, typed in and out.

Knows HTTP, form encoding, XML and Yamato's codes — nothing about Flask or the database.
Every request is normalised and validated *before* the HTTP call (``wire``/``normalize``),
sent exactly once (no automatic retry: KAARA, KAACL, KAASL, KAAKK and KAARR are not
idempotent) with a timeout, and its answer mapped to a result or to one exception of
``errors``. Declines, 審査中 and SMS outcomes are results, not exceptions.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, Mapping

import requests
from urllib3.exceptions import NewConnectionError

from . import wire
from .codes import (API_PATH, BASE_URLS, CreditDecision, Operation, SmsResult, TransactionStatus,
                    WarningCode, message_for)
from .datatypes import (AmountChangeRequest, AuthorizationRequest, AuthorizationResult,
                        CreditResult, InvoicePrintData, OperationResult, ReissueRequest,
                        ReissueResult, ShipmentRequest, SmsVerificationResult, StatusResult)
from ..errors import (ApiConnectionError, ApiError, AuthenticationError, ConfigurationError,
                      MalformedResponseError)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"

# Codes that mean "your merchant code or password is wrong or not usable": a settings
# problem for the shop admin, never the buyer's.
_CREDENTIAL_CODES = frozenset({
    # KAARA: merchant code (both numberings), password
    "kaara001E", "kaara002E", "kaara003E", "kaara004E", "kaara005E",
    "kaara090E", "kaara091E", "kaara092E",
    "kaasa001E", "kaasa002E", "kaasa003E", "kaasa004E",
    "kaasa017E", "kaasa018E", "kaasa023E", "kaasa024E",
    "kaars002E", "kaars003E", "kaars004E", "kaars012E", "kaars013E",
    "kaast002E", "kaast003E", "kaast004E", "kaast012E", "kaast013E", "kaast015E",
    "kaacl002E", "kaacl003E", "kaacl004E", "kaacl013E", "kaacl014E", "kaacl017E",
    "kaasl002E", "kaasl003E", "kaasl004E", "kaasl036E", "kaasl037E", "kaasl041E",
    "kaakk001E", "kaakk002E", "kaakk003E", "kaakk004E", "kaakk059E", "kaakk060E", "kaakk061E",
    "kaarr001E", "kaarr002E", "kaarr003E", "kaarr004E", "kaarr010E", "kaarr011E", "kaarr012E",
    "kaasd002E", "kaasd003E", "kaasd004E", "kaasd014E", "kaasd015E", "kaasd019E",
})


def _jst_now() -> datetime:
    return datetime.now(wire.JST)


class KuronekoClient:
    """Speaks Yamato's API for one merchant (加盟店コード + パスワード)."""

    def __init__(self, merchant_code: str, password: str, *, environment: str = "sandbox",
                 base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None,
                 clock: Callable[[], datetime] | None = None,
                 cart_code: str | None = None) -> None:
        if environment not in BASE_URLS:
            raise ConfigurationError(f"Unknown environment {environment!r}; use one of "
                                     f"{', '.join(sorted(BASE_URLS))}.")
        merchant_code = (merchant_code or "").strip()
        if not (merchant_code.isascii() and merchant_code.isdigit() and len(merchant_code) == 11):
            raise ConfigurationError("The merchant code (加盟店コード) must be the 11 digits on "
                                     "the contract sheet; check the Kuroneko settings.")
        if not password:
            raise ConfigurationError("The API password (パスワード) is empty; set it in the "
                                     "Kuroneko settings.")
        if timeout is None or timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds.")
        self.merchant_code = merchant_code
        self.__password = password
        self.environment = environment
        self.base_url = (base_url or BASE_URLS[environment]).rstrip("/")
        self.timeout = float(timeout)
        self.session = session if session is not None else requests.Session()
        self.clock = clock or _jst_now
        self.cart_code = cart_code

    def __repr__(self) -> str:
        return (f"<KuronekoClient merchant={self.merchant_code} environment={self.environment} "
                f"base_url={self.base_url}>")

    # ------------------------------------------------------------------ public operations

    def authorize(self, req: AuthorizationRequest) -> AuthorizationResult:
        """KAARA0010 決済依頼: the credit decision (0 可, 1 不可, 2 限度額超過, 3 審査中/SMS送信)."""
        fields = self._call(Operation.AUTHORIZE, req)
        return AuthorizationResult(**self._common(Operation.AUTHORIZE, req.order_no, fields),
                                   decision=self._enum(CreditDecision, fields, "result",
                                                       Operation.AUTHORIZE, req.order_no))

    def verify_sms(self, order_no: str, code: str) -> SmsVerificationResult:
        """KAASA0020 SMS認証番号判定."""
        fields = self._call(Operation.VERIFY_SMS, (order_no, code))
        return SmsVerificationResult(**self._common(Operation.VERIFY_SMS, order_no, fields),
                                     result=self._enum(SmsResult, fields, "result",
                                                       Operation.VERIFY_SMS, order_no))

    def get_credit_result(self, order_no: str) -> CreditResult:
        """KAARS0010 与信結果取得 (safe to repeat)."""
        fields = self._call(Operation.CREDIT_RESULT, order_no)
        return CreditResult(**self._common(Operation.CREDIT_RESULT, order_no, fields),
                            decision=self._enum(CreditDecision, fields, "result",
                                                Operation.CREDIT_RESULT, order_no))

    def get_status(self, order_no: str) -> StatusResult:
        """KAAST0010 取引状況取得 (safe to repeat)."""
        fields = self._call(Operation.STATUS, order_no)
        warning = _warning(fields.get("warning"), order_no)
        return StatusResult(**self._common(Operation.STATUS, order_no, fields),
                            status=self._enum(TransactionStatus, fields, "result",
                                              Operation.STATUS, order_no),
                            warning=warning)

    def cancel(self, order_no: str) -> OperationResult:
        """KAACL0010 取消."""
        fields = self._call(Operation.CANCEL, order_no)
        return OperationResult(**self._common(Operation.CANCEL, order_no, fields))

    def register_shipment(self, req: ShipmentRequest) -> OperationResult:
        """KAASL0010 出荷情報登録 / 変更 / 他社配送 / 取消 (processDiv 0/1/2/9)."""
        fields = self._call(Operation.SHIPMENT, req)
        return OperationResult(**self._common(Operation.SHIPMENT, req.order_no, fields))

    def change_amount(self, req: AmountChangeRequest) -> OperationResult:
        """KAAKK0010 金額変更."""
        fields = self._call(Operation.CHANGE_AMOUNT, req)
        return OperationResult(**self._common(Operation.CHANGE_AMOUNT, req.order_no, fields))

    def reissue_invoice(self, req: ReissueRequest) -> ReissueResult:
        """KAARR0010 請求書再発行 (contents 1) or its withdrawal (contents 3)."""
        fields = self._call(Operation.REISSUE, req)
        return ReissueResult(**self._common(Operation.REISSUE, req.order_no, fields),
                             reissue_code=fields.get("reissueCode") or None)

    def get_invoice_print_data(self, order_no: str) -> InvoicePrintData:
        """KAASD0010 請求書印字データ取得 (同梱 orders)."""
        fields = self._call(Operation.PRINT_DATA, order_no)
        skip = {"ycfStrCode", "orderNo", "returnCode", "errorCode", "returnDate", "requestDate"}
        data = {k: v for k, v in fields.items()
                if k not in skip and not k.startswith(("itemName", "itemCount", "unitPrice", "subTotal"))}
        return InvoicePrintData(**self._common(Operation.PRINT_DATA, order_no, fields),
                                fields=data, items=wire.parse_items(fields))

    # ------------------------------------------------------------------ forms

    def build_form(self, operation: Operation | str, req: Any, *,
                   redact_password: bool = False) -> dict[str, str]:
        """The exact form that would be posted, normalised and validated, without sending.

        ``req`` is the request dataclass, the order number (KAARS/KAAST/KAACL/KAASD) or an
        ``(order_no, code)`` pair (KAASA). Raises ValidationError like the real call would.
        With ``redact_password`` the password is masked (for logs and admin screens).
        """
        op = Operation(operation)
        now = wire.to_jst(self.clock())
        today = now.date()
        form: dict[str, str] = {"ycfStrCode": self.merchant_code}
        if op == Operation.AUTHORIZE:
            form.update(wire.authorization_fields(req, today=today, cart_code=self.cart_code))
        elif op == Operation.VERIFY_SMS:
            order_no, code = (req["order_no"], req["code"]) if isinstance(req, Mapping) else req
            form.update(wire.sms_fields(order_no, code))
        elif op in (Operation.CREDIT_RESULT, Operation.STATUS, Operation.CANCEL,
                    Operation.PRINT_DATA):
            form.update(wire.order_fields(req, operation=op))
        elif op == Operation.SHIPMENT:
            form.update(wire.shipment_fields(req, today=today))
        elif op == Operation.CHANGE_AMOUNT:
            form.update(wire.amount_change_fields(req, today=today))
        elif op == Operation.REISSUE:
            form.update(wire.reissue_fields(req, today=today))
        if op != Operation.REISSUE:          # KAARR0010 has no requestDate (spec §2.4)
            form["requestDate"] = wire.ymdhms(now)
        form["password"] = wire.REDACTED if redact_password else self.__password
        return form

    def url_for(self, operation: Operation | str) -> str:
        return self.base_url + API_PATH.format(code=Operation(operation).value)

    # ------------------------------------------------------------------ transport

    def _call(self, op: Operation, req: Any) -> dict[str, str]:
        form = self.build_form(op, req)            # ValidationError before any HTTP
        order_no = form.get("orderNo")
        url = self.url_for(op)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s orderNo=%s request %s", op.value, order_no, wire.redact(form))
        response = self._post(op, url, form, order_no)
        if response.status_code != 200:
            logger.warning("%s orderNo=%s HTTP %s", op.value, order_no, response.status_code)
            raise MalformedResponseError(f"{op.value}: Yamato answered HTTP {response.status_code} "
                                         "instead of 200; the outcome is unknown.",
                                         operation=op.value, order_no=order_no)
        fields = wire.parse_response(response.content, operation=op.value, order_no=order_no)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s orderNo=%s response %s", op.value, order_no, wire.redact(fields))
        return_code = fields.get("returnCode", "")
        logger.info("%s orderNo=%s returnCode=%s result=%s errorCode=%s", op.value, order_no,
                    return_code, fields.get("result", ""), fields.get("errorCode", ""))
        if return_code == "1":
            raise _error_from_response(op, fields, order_no)
        if return_code != "0":
            raise MalformedResponseError(f"{op.value}: returnCode {return_code!r} is neither 0 nor 1.",
                                         operation=op.value, order_no=order_no)
        echoed = fields.get("orderNo")
        if echoed and order_no and echoed != order_no:
            raise MalformedResponseError(f"{op.value}: the answer is for another order "
                                         f"({echoed!r}, expected {order_no!r}).",
                                         operation=op.value, order_no=order_no)
        return fields

    def _post(self, op: Operation, url: str, form: dict[str, str],
              order_no: str | None) -> requests.Response:
        """One POST, never retried; transport failures say whether Yamato may have acted.

        The error is raised outside the ``except`` block so that neither ``__cause__`` nor
        ``__context__`` keeps the requests exception, whose ``request.body`` holds the password.
        """
        error: Exception
        try:
            return self.session.post(url, data=form, timeout=self.timeout,
                                     headers={"Content-Type": CONTENT_TYPE}, allow_redirects=False)
        except requests.ConnectTimeout as exc:
            error = self._connection_error(op, order_no, exc, reached=False)
        except requests.ReadTimeout as exc:
            error = self._connection_error(op, order_no, exc, reached=True)
        except requests.ConnectionError as exc:
            error = self._connection_error(op, order_no, exc, reached=not _never_connected(exc))
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            error = ConfigurationError(f"{op.value}: the Yamato URL {url!r} is invalid "
                                       f"({type(exc).__name__}); check base_url.")
        except requests.RequestException as exc:
            error = self._connection_error(op, order_no, exc, reached=True)
        raise error

    @staticmethod
    def _connection_error(op: Operation, order_no: str | None, exc: Exception, *,
                          reached: bool) -> ApiConnectionError:
        what = ("could not connect; the request was not delivered" if not reached else
                "no usable answer; Yamato may have processed the request — check with "
                "KAAST0010/KAARS0010 before trying again")
        logger.warning("%s orderNo=%s %s: %s", op.value, order_no, type(exc).__name__, what)
        return ApiConnectionError(f"{op.value}: {what} ({type(exc).__name__}).",
                                  may_have_reached=reached, operation=op.value, order_no=order_no)

    # ------------------------------------------------------------------ results

    @staticmethod
    def _common(op: Operation, order_no: str, fields: dict[str, str]) -> dict[str, Any]:
        return {"operation": op.value, "order_no": fields.get("orderNo") or order_no,
                "returned_at": wire.returned_at(fields), "raw": dict(fields)}

    @staticmethod
    def _enum(enum: type, fields: Mapping[str, str], key: str, op: Operation, order_no: str):
        value = fields.get(key, "")
        try:
            return enum(int(value))
        except (TypeError, ValueError):
            raise MalformedResponseError(f"{op.value}: unexpected {key} {value!r} in a successful answer.",
                                         operation=op.value, order_no=order_no) from None


def _warning(value: str | None, order_no: str) -> WarningCode:
    """警報情報区分: lenient, because a warning is informational and a newer code must not
    stop the status (取引状況) from being read."""
    if not value:
        return WarningCode.NONE
    try:
        code = WarningCode(int(value))
    except ValueError:
        code = WarningCode.UNKNOWN
    if code is WarningCode.UNKNOWN:
        logger.warning("KAAST0010 %s: unknown warning %r reported as UNKNOWN", order_no, value)
    return code


def _never_connected(exc: BaseException) -> bool:
    """True when the connection itself failed (refused, name resolution): nothing was sent."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, NewConnectionError):      # includes NameResolutionError
            return True
        if isinstance(cur, BaseException):
            stack.extend([cur.__cause__, cur.__context__, getattr(cur, "reason", None)])
            stack.extend(a for a in cur.args if isinstance(a, BaseException))
    return False


def _error_from_response(op: Operation, fields: Mapping[str, str], order_no: str | None) -> ApiError:
    """The one place where a ``returnCode=1`` answer becomes an exception."""
    code = fields.get("errorCode") or None
    message = message_for(code) if code else "エラーコードのない異常終了"
    cls = AuthenticationError if code in _CREDENTIAL_CODES else ApiError
    return cls(message, operation=op.value, code=code, order_no=order_no)

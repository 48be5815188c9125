"""One error hierarchy for the whole package (stripe-python style).

A decline or "under review" is an *outcome*, never an exception: only things a caller must
handle differently (bad configuration, an illegal transition, a request that cannot be made
valid, Yamato's business errors, transport failures) are raised.
"""
from __future__ import annotations


class KuronekoError(Exception):
    """Base class of every error raised by flask_kuroneko. ``message`` is a sentence fit to show
    to whoever can fix the problem (Japanese for the shop's people, English for developers)."""

    def __init__(self, message: str = "", *args: object):
        super().__init__(message, *args)
        self.message = message


class ConfigurationError(KuronekoError):
    """The host application is missing a hook or has an invalid setting."""


class InvalidTransition(KuronekoError):
    """A payment operation is not allowed from the payment's current status."""

    def __init__(self, message: str, *, current: str | None = None, operation: str | None = None):
        super().__init__(message)
        self.current = current
        self.operation = operation


class ValidationError(KuronekoError):
    """A request value cannot be made valid for Yamato; raised before any HTTP call.

    ``field`` is the Yamato parameter name (e.g. ``telNum``), ``message`` a Japanese sentence
    fit to show to the person who can fix it. The offending value is deliberately not kept:
    it is personal data.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ApiError(KuronekoError):
    """Yamato answered ``returnCode=1`` (or the call failed, see subclasses)."""

    def __init__(self, message: str, *, operation: str | None = None, code: str | None = None,
                 order_no: str | None = None):
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.code = code
        self.order_no = order_no


class AuthenticationError(ApiError):
    """Merchant code unknown/unusable or password mismatch: a settings problem, not the buyer's."""


class ApiConnectionError(ApiError):
    """The call did not produce a usable answer.

    ``may_have_reached`` tells whether Yamato may have received (and acted on) the request:
    False only when the connection could not be made at all. When True, the outcome is
    unknown and must be resolved by asking Yamato (KAAST0010/KAARS0010), never guessed.
    """

    def __init__(self, message: str, *, may_have_reached: bool, operation: str | None = None,
                 order_no: str | None = None):
        super().__init__(message, operation=operation, order_no=order_no)
        self.may_have_reached = may_have_reached


class MalformedResponseError(ApiConnectionError):
    """Yamato answered, but not with a readable ``<return>`` document (HTTP 5xx, bad XML)."""

    def __init__(self, message: str, *, operation: str | None = None, order_no: str | None = None):
        super().__init__(message, may_have_reached=True, operation=operation, order_no=order_no)


class PaymentNotFound(KuronekoError):
    """No payment with the given id (or order number) exists."""


class RuleViolation(KuronekoError):
    """A merchant action the manual forbids; ``message`` is Japanese, fit for the admin UI."""


class SettingsError(RuleViolation):
    """A settings value that cannot be saved; ``field`` names it, ``message`` is Japanese."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


class FeeConfigError(KuronekoError, ValueError):
    """A fee setting that cannot be used; ``message`` is Japanese (shown in the admin form)."""


class IllegalStatusMove(KuronekoError):
    """A status move the status writer's table does not allow (a bug in the caller, never a
    user's input: those are refused earlier with InvalidTransition)."""


class CaptureRefused(KuronekoError):
    """売上確定 was not attempted because a rule of the manual is not met (M16/M18).

    ``message`` is Japanese and is also stored in ``Payment.capture_note`` and the error log;
    the payment stays 与信.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OperationPending(KuronekoError):
    """The operation's outcome is not known yet (Yamato unreachable or its answer lost).

    Raised AFTER the payment was left consistent and the operation journaled: ``state`` is
    ``"unknown"`` (resolved by asking Yamato) or ``"queued"`` (never reached Yamato; retried).
    The background sweep settles it; ``message`` is Japanese, fit for the admin.
    """

    def __init__(self, message: str, *, state: str, operation: str | None = None):
        super().__init__(message)
        self.message = message
        self.state = state
        self.operation = operation


#: The command that brings the kuroneko_* tables to what this version needs.
UPGRADE_COMMAND = "flask kuroneko db upgrade"


class SchemaOutOfDate(ConfigurationError):
    """The kuroneko tables are not at the revision this version of flask-kuroneko needs.

    ``current`` is the database's revision (None: no version table), ``head`` the needed one.
    """

    def __init__(self, current: str | None, head: str, *, known: bool = True):
        self.current = current
        self.head = head
        if current is None:
            detail = "the kuroneko tables are missing or predate the migrations (0.1.0)"
            fix = f"run `{UPGRADE_COMMAND}`"
        elif not known:
            detail = (f"the database is at revision {current}, which this version of "
                      "flask-kuroneko does not know (a newer version upgraded it)")
            fix = "install the flask-kuroneko version that upgraded it"
        else:
            detail = f"the database is at revision {current}, this version needs {head}"
            fix = f"run `{UPGRADE_COMMAND}`"
        super().__init__(f"The kuroneko database schema is out of date: {detail}. To fix it, "
                         f"{fix}.")

    @property
    def message_ja(self) -> str:
        """For the admin pages (the server's operator runs the command)."""
        return ("クロネコ代金後払いのデータベースが最新ではありません"
                f"（現在: {self.current or 'なし'}、必要: {self.head}）。"
                f"サーバーで `{UPGRADE_COMMAND}` を実行してください。")


class UnrecognisedSchema(ConfigurationError):
    """kuroneko_* tables without a version table that are not a 0.1.0 install."""

"""Settings M1–M7 (+ the extension's switches): one DB row, ``app.config`` overrides and locks.

Why both: merchants edit settings in the admin (as in the manual), but a deployment may pin
some of them in configuration (e.g. the password from the environment, never in the DB).
A field set in ``app.config`` (``KURONEKO_<KEY>`` not None, see ``config.SETTINGS_OVERRIDES``)
wins over the row and is *locked*: the admin form shows it read-only and :func:`save_settings`
refuses to change it.

The password is never part of a repr, a log line or an exception text.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from . import fees, secretbox
from .config import ENVIRONMENTS, PREFIX, SETTINGS_OVERRIDES
from .errors import ConfigurationError, SettingsError
from .state import current_state
from .rules import MAX_TOTAL, SHIP_WINDOW_DAYS
from .b2 import Cool, SlipType

logger = logging.getLogger(__name__)

#: Values of a settings row that does not exist yet. ``environment`` is "sandbox" so a fresh
#: install never talks to Yamato before the merchant chose テスト環境 or 本番環境.
FRESH_DEFAULTS: dict[str, Any] = {
    "merchant_code": "",
    "password": "",
    "environment": "sandbox",
    "yamato_delivery_method_ids": [],
    "other_carrier_enabled": False,
    "smartphone_enabled": False,
    "ship_within_days": 10,
    "fee_mode": fees.FIXED,
    "fee_fixed": None,
    "fee_tiers": [],
    "credit_limit": 55_000,
    "cancel_with_order": False,
    "change_amount_with_order": False,
    "prepayment_log_enabled": True,
    "conversion_tag": "",
    "conversion_on_review": False,
    # B2クラウド (M17): empty ご依頼主/ご請求先 = the export is refused until they are set.
    "b2_shipper_name": "",
    "b2_shipper_name_kana": "",
    "b2_shipper_phone": "",
    "b2_shipper_postal_code": "",
    "b2_shipper_address": "",
    "b2_shipper_building": "",
    "b2_billing_customer_code": "",
    "b2_billing_class_code": "",
    "b2_freight_no": "01",
    "b2_slip_types": {},          # delivery method id -> 送り状種類 (unlisted: 発払い)
    "b2_cool_methods": {},        # delivery method id -> クール区分 (unlisted: 通常)
    "b2_header_row": True,
    "b2_columns": 97,
    "b2_notice_mail": False,
}
FIELDS = tuple(FRESH_DEFAULTS)
#: 送り状種類 a 後払い order may use (コレクト = cash on delivery is never one) and クール区分.
B2_SLIP_TYPES = {t.value: t.label for t in SlipType if t.rules.exportable}
B2_COOL_TYPES = {Cool.NORMAL.value: "通常", Cool.FROZEN.value: "冷凍", Cool.CHILLED.value: "冷蔵"}
#: The B2 fields (their own admin page, 「B2クラウド設定」).
B2_FIELDS = tuple(name for name in FIELDS if name.startswith("b2_"))


@dataclass(frozen=True)
class EffectiveSettings:
    """The settings in force for the current app: DB row overridden by ``app.config``."""
    merchant_code: str
    password: str = field(repr=False)
    environment: str
    yamato_delivery_method_ids: tuple[str, ...]
    other_carrier_enabled: bool
    smartphone_enabled: bool
    ship_within_days: int
    fee_mode: str
    fee_fixed: int | None
    fee_tiers: tuple[tuple[int | None, int], ...]
    credit_limit: int
    cancel_with_order: bool
    change_amount_with_order: bool
    prepayment_log_enabled: bool
    conversion_tag: str = field(repr=False)
    conversion_on_review: bool
    b2_shipper_name: str = ""
    b2_shipper_name_kana: str = ""
    b2_shipper_phone: str = ""
    b2_shipper_postal_code: str = ""
    b2_shipper_address: str = ""
    b2_shipper_building: str = ""
    b2_billing_customer_code: str = ""
    b2_billing_class_code: str = ""
    b2_freight_no: str = "01"
    b2_slip_types: Mapping[str, str] = field(default_factory=dict)
    b2_cool_methods: Mapping[str, str] = field(default_factory=dict)
    b2_header_row: bool = True
    b2_columns: int = 97
    b2_notice_mail: bool = False
    locked: frozenset[str] = frozenset()

    def fee_for(self, amount: int) -> int:
        """M7 fee for an order of ``amount`` yen (fee excluded)."""
        return fees.fee_for_amount(amount, mode=self.fee_mode, fixed=self.fee_fixed,
                                   tiers=self.fee_tiers)

    def is_locked(self, field_name: str) -> bool:
        return field_name in self.locked

    @property
    def has_credentials(self) -> bool:
        return bool(self.merchant_code and self.password)

    def is_yamato_delivery(self, delivery_method_id: str | None) -> bool:
        """M3: the host delivery method is ticked as delivered by Yamato."""
        return delivery_method_id is not None and str(delivery_method_id) in \
            self.yamato_delivery_method_ids


# --------------------------------------------------------------------------- validation


def _bool(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise SettingsError(name, "「利用する」か「利用しない」を選んでください。")
        return value
    return check


def _int_range(name: str, label: str, low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingsError(name, f"{label}は半角数字で入力してください。") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise SettingsError(name, f"{label}は{low:,}〜{high:,}の範囲で入力してください。")
        return number
    return check


def _merchant_code(value: Any) -> str:
    value = "" if value is None else str(value).strip()
    if value and not re.fullmatch(r"[0-9]{11}", value):
        raise SettingsError("merchant_code", "加盟店コードは11桁の半角数字で入力してください。")
    return value


def _password(value: Any) -> str:
    value = "" if value is None else str(value)
    if value and not re.fullmatch(r"[0-9A-Za-z]{1,8}", value):
        raise SettingsError("password", "パスワードは8文字以内の半角英数字で入力してください。")
    return value


def _environment(value: Any) -> str:
    if value not in ENVIRONMENTS:
        raise SettingsError("environment", "動作環境はサンドボックス・テスト環境・本番環境から選んでください。")
    return value


def _delivery_ids(value: Any) -> list[str]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise SettingsError("yamato_delivery_method_ids", "クロネコヤマト配送の配送方法を選び直してください。")
    return sorted({str(v) for v in value})


def _fee_mode(value: Any) -> str:
    if value not in fees.MODES:
        raise SettingsError("fee_mode", "手数料は「固定額」か「変動額」を選んでください。")
    return value


def _fee_fixed(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None   # blank = no fee (M7)
    return _int_range("fee_fixed", "手数料（固定額）", 0, fees.MAX_FEE)(value)


def _fee_tiers(value: Any) -> list[list[int | None]]:
    try:
        if isinstance(value, str):
            return fees.parse_tiers_text(value)
        return fees.normalize_tiers(value or [])
    except fees.FeeConfigError as exc:
        raise SettingsError("fee_tiers", exc.message) from None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _b2_text(name: str, label: str, max_chars: int) -> Callable[[Any], str]:
    """A B2 text setting: stored as typed (the byte limits and the character set are checked
    with ``b2.settings_problems`` by the settings page and again by every export)."""
    def check(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if _CONTROL.search(text) or len(text) > max_chars:
            raise SettingsError(name, f"{label}は{max_chars}文字以内で、改行を含めずに入力してください。")
        return text
    return check


def _b2_digits(name: str, label: str, lengths: tuple[int, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if not (text.isascii() and (text.isdigit() or not text) and len(text) in lengths):
            allowed = "・".join(str(n) for n in lengths if n)
            raise SettingsError(name, f"{label}は{allowed}桁の半角数字で入力してください。")
        return text
    return check


def _b2_code_map(name: str, label: str, allowed: Mapping[str, str]) -> Callable[[Any], dict]:
    """delivery method id -> a B2 code among ``allowed`` (code -> Japanese name)."""
    def check(value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise SettingsError(name, f"{label}を選び直してください。")
        cleaned = {}
        for method_id, code in value.items():
            if str(code) not in allowed:
                raise SettingsError(name, f"{label}は{'・'.join(allowed.values())}から選んでください。")
            cleaned[str(method_id)] = str(code)
        return dict(sorted(cleaned.items()))
    return check


def _b2_columns(value: Any) -> int:
    if value not in (97, 95, "97", "95"):
        raise SettingsError("b2_columns", "B2の列数は97列（現行レイアウト）か95列（旧テンプレート）を選んでください。")
    return int(value)


VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "merchant_code": _merchant_code,
    "password": _password,
    "environment": _environment,
    "yamato_delivery_method_ids": _delivery_ids,
    "other_carrier_enabled": _bool("other_carrier_enabled"),
    "smartphone_enabled": _bool("smartphone_enabled"),
    "ship_within_days": _int_range("ship_within_days", "出荷の期限（目安）", 0, SHIP_WINDOW_DAYS),
    "fee_mode": _fee_mode,
    "fee_fixed": _fee_fixed,
    "fee_tiers": _fee_tiers,
    "credit_limit": _int_range("credit_limit", "ご利用限度額", 1, MAX_TOTAL),
    "cancel_with_order": _bool("cancel_with_order"),
    "change_amount_with_order": _bool("change_amount_with_order"),
    "prepayment_log_enabled": _bool("prepayment_log_enabled"),
    "conversion_tag": _text,
    "conversion_on_review": _bool("conversion_on_review"),
    "b2_shipper_name": _b2_text("b2_shipper_name", "ご依頼主名", 32),
    "b2_shipper_name_kana": _b2_text("b2_shipper_name_kana", "ご依頼主略称カナ", 50),
    "b2_shipper_phone": _b2_text("b2_shipper_phone", "ご依頼主電話番号", 15),
    "b2_shipper_postal_code": _b2_text("b2_shipper_postal_code", "ご依頼主郵便番号", 8),
    "b2_shipper_address": _b2_text("b2_shipper_address", "ご依頼主住所", 64),
    "b2_shipper_building": _b2_text("b2_shipper_building", "ご依頼主住所（アパートマンション名）", 32),
    "b2_billing_customer_code": _b2_digits("b2_billing_customer_code", "ご請求先顧客コード",
                                           (0, 10, 11, 12)),
    "b2_billing_class_code": _b2_digits("b2_billing_class_code", "ご請求先分類コード", (0, 1, 2, 3)),
    "b2_freight_no": _b2_digits("b2_freight_no", "運賃管理番号", (2,)),
    "b2_slip_types": _b2_code_map("b2_slip_types", "送り状種類", B2_SLIP_TYPES),
    "b2_cool_methods": _b2_code_map("b2_cool_methods", "クール区分", B2_COOL_TYPES),
    "b2_header_row": _bool("b2_header_row"),
    "b2_columns": _b2_columns,
    "b2_notice_mail": _bool("b2_notice_mail"),
}
assert set(VALIDATORS) == set(FIELDS) == set(SETTINGS_OVERRIDES)


# --------------------------------------------------------------------------- config overrides


def overrides(app: Flask | None = None) -> dict[str, Any]:
    """Settings fields pinned by ``app.config`` (field -> validated value)."""
    app = app or current_app
    pinned = {}
    for name, key in SETTINGS_OVERRIDES.items():
        value = app.config.get(PREFIX + key)
        if value is not None:
            pinned[name] = VALIDATORS[name](value)
    return pinned


def validate_overrides(app: Flask) -> None:
    """Called by init_app: a bad pinned value is a deployment error, reported at start-up."""
    try:
        overrides(app)
    except SettingsError as exc:
        key = PREFIX + SETTINGS_OVERRIDES[exc.field]
        raise ConfigurationError(f"{key} has an invalid value: {exc.message} "
                                 f"Fix {key} in the app configuration (or remove it to let the "
                                 "admin edit the setting).") from None


# --------------------------------------------------------------------------- row access


def _models_and_session():
    state = current_state()
    return state.models, state.db.session


def _explain_missing_tables(models: Any, session: Any, exc: Exception) -> None:
    """Turn "no such table" into the fix (checked on a separate connection; the failed
    statement's transaction is left to the caller, it may hold the host's changes)."""
    try:
        with session.get_bind().connect() as conn:
            missing = not sa.inspect(conn).has_table(models.Settings.__tablename__)
    except Exception:  # the check itself must not hide the original error
        return
    if missing:
        raise ConfigurationError(
            "The kuroneko_* tables do not exist in this database: run `flask kuroneko init-db` "
            "(`flask kuroneko db upgrade` in a deploy; db.create_all() does not create "
            "them).") from exc


def load_row(*, create: bool = False) -> Any:
    """The settings row (id=1), or None; ``create`` adds it (not committed) when missing."""
    models, session = _models_and_session()
    try:
        row = session.get(models.Settings, 1)
    except DBAPIError as exc:
        _explain_missing_tables(models, session, exc)
        raise
    if row is None and create:
        row = models.Settings(id=1, **{k: (list(v) if isinstance(v, list) else v)
                                       for k, v in FRESH_DEFAULTS.items()})
        session.add(row)
    return row


def stored_values() -> dict[str, Any]:
    """What the admin saved (fresh defaults when nothing was saved yet); the password
    decrypted (secretbox: it is encrypted at rest)."""
    row = load_row()
    if row is None:
        return dict(FRESH_DEFAULTS)
    values = {name: getattr(row, name) for name in FIELDS}
    values["password"] = _decrypted(values["password"])
    return values


def _decrypted(stored: str | None) -> str:
    """A password that cannot be decrypted (key changed) counts as not set: the admin page
    still opens and asks for it, and nothing is sent to Yamato with a wrong one."""
    if not stored:
        return ""
    try:
        return secretbox.box_for(current_app.config).decrypt(stored)
    except secretbox.SecretBoxError as exc:
        logger.error("kuroneko settings: %s", exc)
        return ""


def reencrypt_password() -> bool:
    """Encrypt the stored password with the current key (plain text written before
    encryption, or a value of an old key); commit. True when the row changed."""
    row = load_row()
    if row is None or not row.password:
        return False
    box = secretbox.box_for(current_app.config)
    if not box.needs_rotation(row.password):
        return False
    row.password = box.encrypt(box.decrypt(row.password))
    _, session = _models_and_session()
    session.commit()
    logger.info("settings: merchant password re-encrypted with the current key")
    return True


def effective_settings() -> EffectiveSettings:
    """The settings in force for the current app (read on every call: the admin may change
    them at any time, and one primary-key read is cheap)."""
    values = stored_values()
    pinned = overrides()
    values.update(pinned)
    values["yamato_delivery_method_ids"] = tuple(str(v) for v in values["yamato_delivery_method_ids"] or ())
    values["fee_tiers"] = tuple(tuple(t) for t in values["fee_tiers"] or ())
    for name in ("b2_slip_types", "b2_cool_methods"):
        values[name] = dict(values[name] or {})
    return EffectiveSettings(**values, locked=frozenset(pinned))


def save_settings(changes: Mapping[str, Any]) -> EffectiveSettings:
    """Validate and store admin changes, then commit.

    ``password`` None or "" keeps the stored one (the form never shows it). Changing a
    field pinned by ``app.config`` raises SettingsError naming the config key.
    """
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ConfigurationError(f"Unknown settings field(s): {', '.join(sorted(unknown))}.")
    pinned = overrides()
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "password" and not value:
            continue
        if name in pinned:
            if VALIDATORS[name](value) != pinned[name]:
                raise SettingsError(name, f"この項目はアプリケーション設定（{PREFIX}"
                                          f"{SETTINGS_OVERRIDES[name]}）で固定されているため変更できません。")
            continue
        cleaned[name] = VALIDATORS[name](value)
    if cleaned.get("password"):
        cleaned["password"] = secretbox.box_for(current_app.config).encrypt(cleaned["password"])
    row = load_row(create=True)
    for name, value in cleaned.items():
        setattr(row, name, value)
    _, session = _models_and_session()
    session.commit()
    current_state().forget_settings()
    logger.info("settings saved: %s", ", ".join(sorted(cleaned)) or "(nothing changed)")
    return effective_settings()


def field_names() -> tuple[str, ...]:
    return FIELDS


def as_public_dict(settings: EffectiveSettings) -> dict[str, Any]:
    """The settings without the password (for diagnostics, JSON, templates)."""
    data = dataclasses.asdict(settings)
    data["password"] = "********" if settings.password else ""
    data["locked"] = sorted(settings.locked)
    return data

"""「クロネコ代金後払い」 settings page (M1–M7) with 接続テスト and diagnostics (M24/M26).

The password is never rendered back: the field is always empty and an empty submission keeps
the stored password. Fields pinned by ``app.config`` are shown read-only and never submitted.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, redirect, request, url_for

from .. import fees, settings as settings_mod
from ..config import PREFIX, SETTINGS_OVERRIDES
from ..errors import ConfigurationError
from . import common, diagnostics
from .forms import (ENVIRONMENT_CHOICES, FEE_MODE_CHOICES, SANDBOX_CHOICE, USE_CHOICES,
                    ButtonForm, SettingsForm)

logger = logging.getLogger(__name__)

BOOL_FIELDS = ("other_carrier_enabled", "smartphone_enabled", "cancel_with_order",
               "change_amount_with_order", "prepayment_log_enabled", "conversion_on_review")
TEXT_FIELDS = ("merchant_code", "password", "environment", "ship_within_days", "fee_mode",
               "fee_fixed", "credit_limit", "conversion_tag")
EMPTY_TIER_ROWS = 3
MSG_SAVED = "設定を保存しました。"
MSG_INVALID = "入力内容に誤りがあります。赤字の項目を確認してください。"
MSG_NO_DELIVERY = "配送方法が登録されていません。ショップの配送方法を登録してください。"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/settings", "settings", settings_page, methods=["GET", "POST"])
    bp.add_url_rule("/settings/test", "connection_test", connection_test, methods=["POST"])


def _delivery_choices() -> tuple[list[tuple[str, str]], str | None]:
    try:
        return common.state().delivery_methods(), None
    except ConfigurationError as exc:
        logger.warning("settings page: %s", exc)
        return [], "@kuroneko.delivery_methods_loader が登録されていません。"


def _form_from_values(values: dict[str, Any]) -> SettingsForm:
    data = {name: values[name] for name in settings_mod.FIELDS
            if name not in ("password", "fee_tiers", "yamato_delivery_method_ids")}
    for name in BOOL_FIELDS:
        data[name] = "1" if values[name] else "0"
    for name in ("ship_within_days", "credit_limit", "fee_fixed"):
        data[name] = "" if values[name] is None else str(values[name])
    return SettingsForm(data=data)


def _tier_rows(tiers) -> list[tuple[str, str]]:
    rows = [("" if up is None else str(up), str(fee)) for up, fee in tiers or ()]
    return rows + [("", "")] * EMPTY_TIER_ROWS


def _submitted_tiers() -> tuple[list[list[Any]], list[tuple[str, str]]]:
    ups, fees_ = request.form.getlist("tier_up_to"), request.form.getlist("tier_fee")
    rows = [(u.strip(), f.strip()) for u, f in zip(ups, fees_)]
    tiers = [[u or None, f] for u, f in rows if u or f]
    return tiers, [r for r in rows if r[0] or r[1]] + [("", "")] * EMPTY_TIER_ROWS


def _changes(form: SettingsForm, locked: frozenset[str], tiers: list,
             delivery_ids: list[str] | None) -> dict[str, Any]:
    """The submitted values of the fields the admin may change. ``delivery_ids`` None: the
    host's delivery methods could not be listed, so the stored ticks are left alone."""
    raw: dict[str, Any] = {name: getattr(form, name).data for name in TEXT_FIELDS}
    for name in BOOL_FIELDS:
        raw[name] = getattr(form, name).data == "1"
    if delivery_ids is not None:
        # only methods the shop offers (a crafted or stale id is dropped, not stored)
        raw["yamato_delivery_method_ids"] = [
            i for i in request.form.getlist("yamato_delivery_method_ids") if i in delivery_ids]
    raw["fee_tiers"] = tiers
    raw["password"] = raw["password"] or None
    return {name: value for name, value in raw.items() if name not in locked}


def _validate(changes: dict[str, Any]) -> dict[str, str]:
    """Every field's problem at once (save_settings stops at the first)."""
    problems = {}
    for name, value in changes.items():
        if name == "password" and not value:
            continue
        try:
            settings_mod.VALIDATORS[name](value)
        except settings_mod.SettingsError as exc:
            problems[name] = exc.message
    return problems


def settings_page():
    st = common.state()
    current = st.settings()
    choices, delivery_problem = _delivery_choices()
    shown = dict(settings_mod.stored_values(), **{k: getattr(current, k) for k in current.locked})
    form = _form_from_values(shown)
    ticked = [str(v) for v in shown["yamato_delivery_method_ids"] or ()]
    tier_rows = _tier_rows(shown["fee_tiers"])
    problems: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = SettingsForm(request.form)
        if not form.validate():
            return common.csrf_refused()
        tiers, tier_rows = _submitted_tiers()
        changes = _changes(form, current.locked, tiers,
                           None if delivery_problem else [str(i) for i, _ in choices])
        problems = _validate(changes)
        if not problems:
            try:
                settings_mod.save_settings(changes)
            except settings_mod.SettingsError as exc:
                problems[exc.field] = exc.message
            else:
                common.info(MSG_SAVED)
                return redirect(url_for(".settings"))
        common.error(MSG_INVALID)
        status = 400
        if "yamato_delivery_method_ids" not in current.locked:
            ticked = request.form.getlist("yamato_delivery_method_ids")
        pinned_form = _form_from_values(shown)
        for name in current.locked:     # disabled inputs are not submitted: show the pinned value
            if name not in ("password", "fee_tiers", "yamato_delivery_method_ids"):
                getattr(form, name).data = getattr(pinned_form, name).data
        if "fee_tiers" in current.locked:
            tier_rows = _tier_rows(shown["fee_tiers"])
    # The manual's two environments first; our offline sandbox after them, always offered
    # so a shop that tried テスト環境 can go back to the simulator.
    environments = [*ENVIRONMENT_CHOICES, SANDBOX_CHOICE]
    return common.render(
        "settings.html", status=status, form=form, problems=problems, locked=current.locked,
        config_keys={k: PREFIX + v for k, v in SETTINGS_OVERRIDES.items()},
        password_stored=bool(current.password), tier_rows=tier_rows,
        delivery_choices=choices, ticked=ticked,
        delivery_problem=delivery_problem or (None if choices else MSG_NO_DELIVERY),
        environments=environments, use_choices=USE_CHOICES, fee_mode_choices=FEE_MODE_CHOICES,
        button=ButtonForm(), checks=diagnostics.checks(request), max_fee=fees.MAX_FEE)


def connection_test():
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    result = diagnostics.connection_test()
    (common.info if result.ok else common.error)(result.detail)
    return redirect(url_for(".settings"))

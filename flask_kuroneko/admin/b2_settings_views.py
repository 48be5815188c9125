"""「B2クラウド設定」 (M17): ご依頼主, ご請求先, the 送り状種類/クール区分 of each delivery method
and the file layout (見出し行, 列数) the 「B2出荷データ出力」 uses.

Values are checked twice: field by field (``settings.VALIDATORS``) and as B2 will see them
(``b2.settings_problems``: byte limits, JIS characters, digits). A value B2 would refuse is not
saved (the form keeps what was typed, with the reason); fields still empty are saved and listed
as what is missing before the first export. Fields pinned by ``app.config`` are read-only.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

from flask import Blueprint, redirect, request, url_for

from .. import settings as settings_mod
from ..b2 import settings_problems
from ..config import PREFIX, SETTINGS_OVERRIDES
from ..errors import ConfigurationError
from ..jobs import b2_export
from ..settings import B2_COOL_TYPES, B2_FIELDS, B2_SLIP_TYPES
from . import common
from .job_forms import B2SettingsForm

logger = logging.getLogger(__name__)

TEXT_FIELDS = ("b2_shipper_name", "b2_shipper_name_kana", "b2_shipper_phone",
               "b2_shipper_postal_code", "b2_shipper_address", "b2_shipper_building",
               "b2_billing_customer_code", "b2_billing_class_code", "b2_freight_no")
#: b2.settings_problems field path -> our settings field.
PROBLEM_FIELDS = {"shipper.name": "b2_shipper_name", "shipper.name_kana": "b2_shipper_name_kana",
                  "shipper.phone": "b2_shipper_phone",
                  "shipper.postal_code": "b2_shipper_postal_code",
                  "shipper.address": "b2_shipper_address",
                  "shipper.building": "b2_shipper_building",
                  "billing.customer_code": "b2_billing_customer_code",
                  "billing.class_code": "b2_billing_class_code",
                  "billing.freight_no": "b2_freight_no"}
MSG_SAVED = "B2クラウド設定を保存しました。"
MSG_INVALID = "入力内容に誤りがあります。赤字の項目を確認してください（保存していません）。"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/b2/settings", "b2_settings", settings_page, methods=["GET", "POST"])


def delivery_methods() -> list[tuple[str, str]]:
    try:
        return common.state().delivery_methods()
    except ConfigurationError as exc:
        logger.warning("B2 settings page: %s", exc)
        return []


def form_from(values: dict[str, Any]) -> B2SettingsForm:
    data = {name: values[name] for name in TEXT_FIELDS}
    data["b2_header_row"] = "1" if values["b2_header_row"] else "0"
    data["b2_notice_mail"] = "1" if values["b2_notice_mail"] else "0"
    data["b2_columns"] = str(values["b2_columns"])
    return B2SettingsForm(data=data)


def submitted(form: B2SettingsForm, methods: list[tuple[str, str]]) -> dict[str, Any]:
    """The values the form sent; a field it did not send (a read-only one, a crafted post)
    keeps its stored value."""
    sent = request.form
    raw: dict[str, Any] = {name: (getattr(form, name).data or "").strip()
                           for name in TEXT_FIELDS if name in sent}
    for name in ("b2_header_row", "b2_notice_mail"):
        if name in sent:
            raw[name] = getattr(form, name).data == "1"
    if "b2_columns" in sent:
        raw["b2_columns"] = form.b2_columns.data
    ids = [method_id for method_id, _ in methods]
    if any(f"slip_type_{i}" in sent for i in ids):
        raw["b2_slip_types"] = {i: sent.get(f"slip_type_{i}", "0") for i in ids}
    if any(f"cool_{i}" in sent for i in ids):
        raw["b2_cool_methods"] = {i: sent.get(f"cool_{i}", "0") for i in ids}
    return raw


def b2_problems(values: dict[str, Any]) -> dict[str, str]:
    """field -> the first B2 problem of the values (settings as B2 will see them)."""
    probe = dataclasses.replace(settings_mod.effective_settings(), **values)
    found: dict[str, str] = {}
    for problem in settings_problems(b2_export.export_settings(probe)):
        found.setdefault(PROBLEM_FIELDS.get(problem.field, problem.field), problem.message)
    return found


def settings_page():
    st = common.state()
    current = st.settings()
    locked = current.locked
    methods = delivery_methods()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = B2SettingsForm(request.form)
        if not form.validate():
            return common.csrf_refused()
        changes = {k: v for k, v in submitted(form, methods).items() if k not in locked}
        cleaned: dict[str, Any] = {}
        for name, value in changes.items():
            try:
                cleaned[name] = settings_mod.VALIDATORS[name](value)
            except settings_mod.SettingsError as exc:
                errors[exc.field] = exc.message
        if not errors:
            errors = {f: m for f, m in b2_problems(cleaned).items()
                      if f in cleaned and str(cleaned[f]).strip()}
        if not errors:
            settings_mod.save_settings(cleaned)
            common.info(MSG_SAVED)
            return redirect(url_for(".b2_settings"))
        common.error(MSG_INVALID)
        status = 400
        slip_types = changes.get("b2_slip_types", current.b2_slip_types)
        cool = changes.get("b2_cool_methods", current.b2_cool_methods)
    else:
        form = form_from({name: getattr(current, name) for name in B2_FIELDS})
        status = 200
        slip_types, cool = current.b2_slip_types, current.b2_cool_methods
    missing = b2_problems({}) if request.method == "GET" else {}
    return common.render(
        "b2_settings.html", status=status, form=form, errors=errors, missing=missing,
        locked=locked, methods=methods, slip_types=slip_types, cool=cool,
        slip_choices=B2_SLIP_TYPES, cool_choices=B2_COOL_TYPES,
        yamato_ids=set(current.yamato_delivery_method_ids),
        config_key=lambda name: PREFIX + SETTINGS_OVERRIDES[name])

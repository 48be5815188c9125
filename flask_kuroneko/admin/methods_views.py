"""支払方法 page (M8–M9): list, add (one per settlement type), rename, HTML description,
使用/停止, delete (refused while payments use the method), reorder (up/down buttons).
The rules themselves live in ``rules``; this module only turns requests into calls."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, request, url_for

from .. import rules
from ..models import KIND_LABELS, PaymentKind
from ..web import clean_description, parse_ids
from . import common
from .forms import ACTIVE_CHOICES, ButtonForm, MethodForm, NewMethodForm

logger = logging.getLogger(__name__)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/methods", "methods", methods_page)
    bp.add_url_rule("/methods/new", "method_create", create, methods=["POST"])
    bp.add_url_rule("/methods/<kuroneko_id:method_id>", "method_update", update, methods=["POST"])
    bp.add_url_rule("/methods/<kuroneko_id:method_id>/delete", "method_delete", delete, methods=["POST"])
    bp.add_url_rule("/methods/<kuroneko_id:method_id>/move/<direction>", "method_move", move,
                    methods=["POST"])
    bp.add_url_rule("/methods/order", "method_order", reorder, methods=["POST"])


def methods_page():
    methods = rules.list_methods()
    used = {m.kind for m in methods}
    free_kinds = [(k.value, KIND_LABELS[k]) for k in PaymentKind if k.value not in used]
    new_form = NewMethodForm()
    forms = {m.id: MethodForm(data={"name": m.name, "description_html": m.description_html,
                                    "active": "1" if m.active else "0"}) for m in methods}
    return common.render("methods.html", methods=methods, forms=forms, new_form=new_form,
                         free_kinds=free_kinds, kind_labels={k.value: KIND_LABELS[k] for k in PaymentKind},
                         button=ButtonForm(), active_choices=ACTIVE_CHOICES,
                         smartphone_enabled=common.state().settings().smartphone_enabled)


def _done(message: str):
    common.info(message)
    return redirect(url_for(".methods"))


def _refused(exc: rules.RuleViolation):
    common.error(exc.message)
    return redirect(url_for(".methods"))


def create():
    form = NewMethodForm(request.form)
    if not form.validate():
        return common.csrf_refused()
    try:
        method = rules.create_method(form.kind.data, name=form.name.data or None,
                                     description_html=(clean_description(form.description_html.data)
                                                       or None),
                                     active=False)
    except rules.RuleViolation as exc:
        return _refused(exc)
    return _done(f"支払方法「{method.name}」を追加しました（停止中）。確認してから「使用」にしてください。")


def update(method_id: int):
    form = MethodForm(request.form)
    if not form.validate():
        return common.csrf_refused()
    try:
        method = rules.update_method(method_id, name=form.name.data,
                                     description_html=clean_description(form.description_html.data),
                                     active=form.active.data == "1")
    except rules.RuleViolation as exc:
        return _refused(exc)
    return _done(f"支払方法「{method.name}」を更新しました。")


def delete(method_id: int):
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    try:
        name = rules.get_method(method_id).name
        rules.delete_method(method_id)
    except rules.RuleViolation as exc:
        return _refused(exc)
    return _done(f"支払方法「{name}」を削除しました。")


def move(method_id: int, direction: str):
    if direction not in ("up", "down"):
        abort(404)
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    ids = [m.id for m in rules.list_methods()]
    if method_id not in ids:
        return _refused(rules.RuleViolation("指定された支払方法が見つかりません。"))
    i = ids.index(method_id)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        rules.reorder_methods(ids)
    return _done("支払方法の並び順を変更しました。")


def reorder():
    """Drag and drop (or any client) posts the complete order as ``method_id`` values."""
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    ids = parse_ids(request.form.getlist("method_id"))
    try:
        if ids is None:
            raise rules.RuleViolation("bad id")
        rules.reorder_methods(ids)
    except rules.RuleViolation:
        return _refused(rules.RuleViolation(
            "支払方法の並び順を保存できませんでした。画面を再読み込みしてやり直してください。"))
    return _done("支払方法の並び順を変更しました。")

"""What the extension's two blueprints share about their place in the host app: the page
layout (the host's base template, or our own) and cooperation with Flask-WTF's CSRFProtect."""
from __future__ import annotations

from typing import Any

from flask import current_app
from jinja2 import TemplateNotFound

from .. import config


def base_template(standalone: str) -> str:
    """The host's KURONEKO_BASE_TEMPLATE (blocks ``title`` and ``content``) when it exists,
    else ``standalone`` (the blueprint's own minimal layout)."""
    name = config.get("BASE_TEMPLATE")
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return standalone
    return name


def exempt_from_flask_wtf(setup_state: Any) -> None:
    """``record_once`` hook: our forms carry their own session CSRF token (and the push
    receiver authenticates by its secret), so a host running Flask-WTF's CSRFProtect must not
    reject them for lacking *its* token. (Initialise CSRFProtect before ``kuroneko.init_app``;
    otherwise call ``csrf.exempt(app.blueprints[...])`` yourself.)"""
    csrf = setup_state.app.extensions.get("csrf")
    if csrf is not None and hasattr(csrf, "exempt"):
        csrf.exempt(setup_state.blueprint)

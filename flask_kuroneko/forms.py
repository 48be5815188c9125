"""The one WTForms base class with session CSRF (DESIGN: "WTForms session CSRF in one form
base class"), shared by the customer pages and the admin; no Flask-WTF dependency."""
from __future__ import annotations

from flask import current_app, session
from wtforms import Form
from wtforms.csrf.session import SessionCSRF


class SessionCsrfForm(Form):
    """A form whose token is bound to the Flask session and signed with SECRET_KEY."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self) -> bytes:
            secret = current_app.config.get("SECRET_KEY") or ""
            return secret.encode() if isinstance(secret, str) else secret

        @property
        def csrf_context(self):
            return session

    @property
    def csrf_failed(self) -> bool:
        return bool(self.csrf_token.errors)

"""Response headers of pages that show personal data or take payment actions.

* ``Cache-Control: no-store``: the manual warns that cache plugins and shared proxies serve
  one customer's checkout page to the next; nothing of these pages may be stored.
* Content-Security-Policy with a per-request nonce: only our own scripts run (a stored
  ``<script>`` that slipped past escaping or sanitising does not), no framing (clickjacking of
  the 取消 button or the SMS page), forms post only to this site. The policy is
  ``KURONEKO_CONTENT_SECURITY_POLICY`` (``{nonce}`` is filled in; None sends none) so a host
  whose layout loads scripts from elsewhere can widen it.
* ``X-Frame-Options: DENY`` for browsers without CSP level 2, ``nosniff``, and a referrer
  policy that never sends a checkout token in a URL to another site.

Headers the host (or Flask-Talisman) already set are left alone.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, g

DEFAULT_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
NO_STORE = "no-store, max-age=0"
_NONCE_KEY = "kuroneko_csp_nonce"


def csp_nonce() -> str:
    """The nonce of this request's scripts (``<script nonce="{{ kuroneko_csp_nonce() }}">``)."""
    nonce = g.get(_NONCE_KEY)
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
        setattr(g, _NONCE_KEY, nonce)
    return nonce


def content_security_policy() -> str | None:
    policy = current_app.config.get("KURONEKO_CONTENT_SECURITY_POLICY", DEFAULT_CSP)
    if not policy:
        return None
    return str(policy).replace("{nonce}", csp_nonce())


def protect(response: Any, *, no_store: bool = True) -> Any:
    """Add the headers to ``response`` (an ``after_request`` handler)."""
    headers = response.headers
    if no_store:
        headers["Cache-Control"] = NO_STORE
        headers.setdefault("Pragma", "no-cache")
        headers.setdefault("Expires", "0")
    if response.mimetype == "text/html":
        policy = content_security_policy()
        if policy and "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = policy
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def template_context() -> dict[str, Any]:
    """``kuroneko_csp_nonce`` for the templates (a function: only pages that use it pay)."""
    return {"kuroneko_csp_nonce": csp_nonce}

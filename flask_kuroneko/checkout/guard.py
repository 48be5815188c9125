"""M14: SSL is mandatory in production. Checkout pages served over plain HTTP are refused;
behind a TLS-terminating proxy (KURONEKO_BEHIND_TLS_PROXY) X-Forwarded-Proto decides (the host
should also wrap its app in werkzeug's ProxyFix so generated URLs use https)."""
from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Callable

from flask import current_app, redirect, request

logger = logging.getLogger(__name__)

MSG_SSL_REQUIRED = "このページはSSL（https）でのみご利用いただけます。https:// で始まるURLからアクセスしてください。"


def refuse_plain_http() -> Any:
    """None when the request may proceed, else the refusal (a before_request handler)."""
    from ..state import current_state
    if not current_state().insecure_checkout(request):
        return None
    logger.warning("plain-HTTP request refused in production: %s %s", request.method, request.path)
    if request.method in ("GET", "HEAD") and not current_app.config.get("KURONEKO_BEHIND_TLS_PROXY"):
        return redirect(request.url.replace("http://", "https://", 1), code=301)
    # Behind a proxy the https URL is the proxy's; a POST body is never resent over HTTP.
    return current_app.response_class(MSG_SSL_REQUIRED, status=403,
                                      mimetype="text/plain")


def ssl_required(view: Callable) -> Callable:
    """Decorator for the host's own checkout views (cart, address, confirmation…)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        refusal = refuse_plain_http()
        if refusal is not None:
            return refusal
        return view(*args, **kwargs)
    return wrapper

"""Who may use the sandbox's back office (``/_sim``) and its human page (issue 10).

They show every buyer's data and SMS codes and change state on POST, so by default:

* only loopback clients (127.0.0.0/8, ::1) are served, and only under a loopback host name
  (``localhost``, ``127.0.0.1``, ``[::1]``, or a ``.invalid`` name as used by the in-process
  adapter) — a web page cannot reach them through DNS rebinding;
* a browser's cross-site POST is refused: ``Sec-Fetch-Site`` must be ``same-origin`` or
  ``none``; without it the ``Origin`` host must be the request's host; a request with
  neither header does not come from a browser (curl, requests, the in-process adapter) and
  is served. (The scheme of Go's ``http.CrossOriginProtection``.)

``KURONEKO_SANDBOX_ALLOWED_CLIENTS`` (or ``create_app(allowed_clients=...)``) opens the pages
to more clients: ``loopback`` (default), ``any``, or addresses/networks separated by commas
(``192.168.0.0/16, loopback``). When opened, any host name is accepted; the cross-site check
always applies. The Yamato API paths themselves are never restricted (a shop's server calls
them like the real service).
"""
from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request

logger = logging.getLogger(__name__)

ALLOWED_CLIENTS_ENV = "KURONEKO_SANDBOX_ALLOWED_CLIENTS"
EXTENSION_KEY = "kuroneko_sandbox_guard"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCHES = frozenset({"same-origin", "none"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CROSS_SITE = ("別のサイトから送信された操作は受け付けません（サンドボックスの保護）。"
              "サンドボックスの画面から操作してください。")
NOT_LOOPBACK = ("サンドボックスの管理画面と /_sim は、このコンピュータ（127.0.0.1）からだけ利用できます。"
                f"他のコンピュータに公開するには環境変数 {ALLOWED_CLIENTS_ENV} に許可するアドレス"
                "（例: 192.168.0.0/16、すべて許可は any）を設定してください。")
NOT_LOOPBACK_HOST = ("サンドボックスの管理画面は http://127.0.0.1:ポート番号/ または "
                     "http://localhost:ポート番号/ で開いてください（DNSリバインディング対策のため、"
                     "ほかのホスト名では表示しません）。公開するには環境変数 "
                     f"{ALLOWED_CLIENTS_ENV} を設定してください。")


@dataclass(frozen=True)
class ClientPolicy:
    """The clients the pages are served to; ``networks`` None = any client."""
    networks: tuple[Network, ...] | None

    @property
    def loopback_only(self) -> bool:
        return self.networks is not None and all(n in LOOPBACK for n in self.networks)


def parse_allowed_clients(value: str | Iterable[str] | None) -> ClientPolicy:
    """``loopback`` (also for None/empty), ``any`` / ``*``, or addresses and networks."""
    if value is None:
        items = ["loopback"]
    elif isinstance(value, str):
        items = [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
    else:
        items = [str(part).strip() for part in value if str(part).strip()]
    items = items or ["loopback"]
    if any(item.lower() in ("any", "*") for item in items):
        return ClientPolicy(None)
    networks: list[Network] = []
    for item in items:
        if item.lower() == "loopback":
            networks += LOOPBACK
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{ALLOWED_CLIENTS_ENV}: {item!r} is not an address or network; "
                             "use e.g. 'loopback', 'any' or '192.168.0.0/16, loopback'.") from None
    return ClientPolicy(tuple(dict.fromkeys(networks)))


def bind(app: Flask, allowed_clients: str | Iterable[str] | None) -> ClientPolicy:
    """Fix ``app``'s policy: ``allowed_clients`` if given, else the environment variable."""
    if allowed_clients is None:
        allowed_clients = os.environ.get(ALLOWED_CLIENTS_ENV)
    policy = parse_allowed_clients(allowed_clients)
    app.extensions[EXTENSION_KEY] = policy
    if policy.networks is None:
        logger.warning("sandbox back office and UI open to every client (%s=any)",
                       ALLOWED_CLIENTS_ENV)
    return policy


def client_allowed(remote_addr: str | None, policy: ClientPolicy) -> bool:
    if policy.networks is None:
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in policy.networks)


def loopback_host(host: str) -> bool:
    """A Host header naming this machine (or a ``.invalid`` name, which no DNS resolves)."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost" or name.endswith((".localhost", ".invalid")):
        return True
    try:
        return any(ipaddress.ip_address(name) in network for network in LOOPBACK)
    except ValueError:
        return False


def same_origin(method: str, headers) -> bool:
    """False for a browser's cross-site state-changing request."""
    if method in SAFE_METHODS:
        return True
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() in SAME_ORIGIN_FETCHES
    origin = headers.get("Origin")
    if origin is None:
        return True                       # not a browser: nothing to protect against
    if origin.strip().lower() == "null":
        return False
    return urlsplit(origin.strip()).netloc.lower() == (headers.get("Host") or "").lower()


def refuse_unless_allowed() -> Response | tuple[Response, int] | None:
    """``before_request`` of the back office and the UI: None, or the 403 to send."""
    policy = current_app.extensions.get(EXTENSION_KEY) or parse_allowed_clients(None)
    message = None
    if not client_allowed(request.remote_addr, policy):
        message = NOT_LOOPBACK
    elif policy.loopback_only and not loopback_host(request.host):
        message = NOT_LOOPBACK_HOST
    elif not same_origin(request.method, request.headers):
        message = CROSS_SITE
    if message is None:
        return None
    logger.warning("sandbox %s %s refused for %s (host %s, origin %s, fetch-site %s)",
                   request.method, request.path, request.remote_addr, request.host,
                   request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"))
    if request.path.startswith("/_sim/") and not request.path.startswith("/_sim/ui"):
        return jsonify({"error": message}), 403
    return Response(message + "\n", status=403, mimetype="text/plain")

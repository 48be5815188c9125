"""The stand-alone sandbox: a Flask WSGI app serving the Yamato API, ``/_sim`` and the UI.

``flask --app flask_kuroneko.sandbox run`` finds ``create_app``. With the environment
variable ``KURONEKO_SANDBOX_STATE`` set to a file path, state lives in that SQLite file so
several processes share one simulated Yamato. ``/_sim`` and the UI answer loopback clients
only unless ``KURONEKO_SANDBOX_ALLOWED_CLIENTS`` says otherwise (``guard.py``).

Faults over a real socket: ``latency`` really sleeps; ``drop`` and ``refuse`` shut the
client socket down without writing a response (werkzeug's dev server exposes it as
``environ["werkzeug.socket"]``; the client sees "connection closed without response").
``refuse`` cannot refuse an accepted connection, so it behaves like ``drop`` but leaves the
request unprocessed. Under a WSGI server without that key both answer HTTP 502 with an
empty body and ``X-Sandbox-Fault`` naming the fault.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable

from flask import Blueprint, Flask, Response, request

from . import current, guard
from .backoffice import backoffice
from .config import load_merchants
from .simulator import Simulator
from .store import SqliteStore
from .ui import ui

logger = logging.getLogger(__name__)

STATE_ENV = "KURONEKO_SANDBOX_STATE"
MERCHANTS_ENV = "KURONEKO_SANDBOX_MERCHANTS"

wire = Blueprint("sandbox_wire", __name__)


@wire.route("/kuroneko-atobarai-api/<code>APIAction_execute.action",
            methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"],
            provide_automatic_options=False)
def api(code: str) -> Response:
    if request.method != "POST":
        return Response(b"", status=405, headers={"Allow": "POST"})
    ex = current.simulator().exchange(code, request.get_data(cache=False))
    if ex.transport in ("drop", "refuse"):
        sock = request.environ.get("werkzeug.socket")
        logger.info("sandbox fault %s: closing the connection without a response",
                    ex.transport)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return Response(b"", status=502, headers={"X-Sandbox-Fault": ex.transport})
    return Response(ex.body, status=ex.status, headers=ex.headers)


def create_app(simulator: Simulator | None = None, *, api_prefix: str = "",
               allowed_clients: str | Iterable[str] | None = None) -> Flask:
    """The sandbox WSGI app around ``simulator``.

    Without a simulator one is built from the environment: ``KURONEKO_SANDBOX_STATE`` (a
    SQLite file shared by processes) and ``KURONEKO_SANDBOX_MERCHANTS`` (a JSON registry,
    see ``config.load_merchants``). ``api_prefix`` puts the API paths under a base path.
    ``allowed_clients`` (default: ``KURONEKO_SANDBOX_ALLOWED_CLIENTS``, else loopback) says
    who may use the back office and the human page (``guard.py``); a bad value raises
    ValueError here, not at the first request.
    """
    if simulator is None:
        state = os.environ.get(STATE_ENV)
        merchants = os.environ.get(MERCHANTS_ENV)
        simulator = Simulator(merchants=load_merchants(merchants) if merchants else None,
                              store=SqliteStore(state) if state else None)
    app = Flask(__name__, template_folder="templates")
    app.json.ensure_ascii = False
    current.bind(app, simulator)
    guard.bind(app, allowed_clients)
    app.register_blueprint(wire, url_prefix=api_prefix.rstrip("/") or None)
    app.register_blueprint(backoffice)
    app.register_blueprint(ui)
    return app

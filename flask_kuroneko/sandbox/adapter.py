"""In-process transport: a ``requests`` adapter that serves the sandbox without a socket.

Mounted on ``BASE_URLS["sandbox"]`` by ``sandbox_session``. API paths go straight to
``Simulator.exchange`` so faults can be turned into exactly the exceptions ``requests``
raises for real network failures; every other path (``/_sim/...``, the UI) is served by the
sandbox WSGI app through werkzeug's test machinery.
"""
from __future__ import annotations

import io
import logging
import re
import time
import urllib.parse
from http.client import RemoteDisconnected
from typing import Any, Callable

import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from werkzeug.test import Client

from ..yamato.codes import BASE_URLS
from .app import create_app
from .simulator import Simulator

logger = logging.getLogger(__name__)

API_PATH_RE = re.compile(r"^(?P<base>.*)/kuroneko-atobarai-api/(?P<code>[^/]+)"
                         r"APIAction_execute\.action$")
REASONS = {200: "OK", 404: "NOT FOUND", 405: "METHOD NOT ALLOWED",
           500: "INTERNAL SERVER ERROR", 502: "BAD GATEWAY"}


def read_timeout_of(timeout: Any) -> float | None:
    """The read timeout of what ``requests`` passes to ``send``: float, tuple or Timeout."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return None if timeout[1] is None else float(timeout[1])
    if isinstance(timeout, urllib3.Timeout):
        value = timeout.read_timeout
        return value if isinstance(value, (int, float)) else None
    return float(timeout)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return body.read()
    return b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in body)


class SandboxAdapter(BaseAdapter):
    """``requests`` transport adapter answering from a ``Simulator`` in this process."""

    def __init__(self, simulator: Simulator, *, app: Any = None,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.simulator = simulator
        self._app = app
        self._sleep = sleep

    @property
    def app(self) -> Any:
        if self._app is None:
            self._app = create_app(self.simulator)
        return self._app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        split = urllib.parse.urlsplit(request.url)
        match = API_PATH_RE.match(split.path)
        if match is None:
            return self._send_wsgi(request, split)
        if request.method != "POST":
            return self._response(request, 405, {"Allow": "POST"}, b"")
        ex = self.simulator.exchange(match.group("code"), _body_bytes(request.body),
                                     read_timeout=read_timeout_of(timeout), sleep=self._sleep)
        if ex.transport == "refuse":
            reason = urllib3.exceptions.NewConnectionError(
                None, "Failed to establish a new connection: [Errno 111] Connection refused")
            raise requests.exceptions.ConnectionError(
                urllib3.exceptions.MaxRetryError(None, request.url, reason=reason),
                request=request)
        if ex.transport == "drop":
            raise requests.exceptions.ConnectionError(
                urllib3.exceptions.ProtocolError(
                    "Connection aborted.",
                    RemoteDisconnected("Remote end closed connection without response")),
                request=request)
        if ex.transport == "timeout":
            raise requests.exceptions.ReadTimeout(
                urllib3.exceptions.ReadTimeoutError(
                    None, request.url,
                    f"Read timed out. (read timeout={read_timeout_of(timeout)})"),
                request=request)
        return self._response(request, ex.status, ex.headers, ex.body)

    def _send_wsgi(self, request: requests.PreparedRequest,
                   split: urllib.parse.SplitResult) -> requests.Response:
        client = Client(self.app)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        # The request comes from this very process: a loopback client for ``guard.py``.
        result = client.open(split.path or "/", method=request.method,
                             query_string=split.query, headers=headers,
                             data=_body_bytes(request.body),
                             base_url=f"{split.scheme}://{split.netloc}",
                             environ_base={"REMOTE_ADDR": "127.0.0.1"})
        try:
            body = result.get_data()
            return self._response(request, result.status_code, dict(result.headers), body)
        finally:
            result.close()

    def _response(self, request: requests.PreparedRequest, status: int,
                  headers: dict[str, str], body: bytes) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = REASONS.get(status, "")
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(body)     # read (once) by response.content
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        pass


def sandbox_session(simulator: Simulator, base_url: str = BASE_URLS["sandbox"]) -> requests.Session:
    """A ``requests.Session`` on which ``base_url`` is served in-process by ``simulator``."""
    session = requests.Session()
    session.mount(base_url.rstrip("/") + "/", SandboxAdapter(simulator))
    return session

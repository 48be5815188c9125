"""pytest fixtures for host shops: ``pytest_plugins = ["flask_kuroneko.testing.plugin"]`` in
the shop's ``conftest.py``.

``kuroneko_sandbox`` is a :class:`flask_kuroneko.testing.SandboxKit` for the app of the
shop's own ``app`` fixture (the common name; a shop whose app fixture is named otherwise
overrides ``kuroneko_app``). Faults and a frozen clock are cleared after each test.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from . import SandboxKit


@pytest.fixture
def kuroneko_app(request: pytest.FixtureRequest) -> Any:
    """The Flask app under test: the shop's ``app`` fixture unless this one is overridden."""
    return request.getfixturevalue("app")


@pytest.fixture
def kuroneko_sandbox(kuroneko_app: Any) -> Iterator[SandboxKit]:
    """The in-process sandbox of the app under test, addressed by the shop's order ids."""
    kit = SandboxKit(kuroneko_app)
    yield kit
    if kit.available:
        kit.clear_faults()
        kit.set_now(None)

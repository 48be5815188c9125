"""The leaf accessor of the per-app state: ``current_state()``.

Every layer (payments, blueprints, CLI, jobs) reaches the app's models, settings, Yamato client
and host hooks through the object ``init_app`` stores in ``app.extensions["kuroneko"]``
(``runtime.KuronekoState``). This module imports nothing of the package but the errors, so any
module may import it without creating an import cycle.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .runtime import KuronekoState

EXTENSION_KEY = "kuroneko"


def current_state(app: Flask | None = None) -> "KuronekoState":
    """The KuronekoState of ``app`` (default: the current app)."""
    app = app if app is not None else current_app
    try:
        return app.extensions[EXTENSION_KEY]
    except KeyError:
        raise ConfigurationError(
            f"Kuroneko is not initialised on the app {app.name!r}: call kuroneko.init_app(app, db) "
            "in the app factory.") from None

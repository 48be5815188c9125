"""The simulator a sandbox WSGI app serves: stored on the app, read by its blueprints.

A module of its own so that ``app.py`` (which registers the blueprints) and the blueprints
(which need the simulator) do not import each other.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app

from .simulator import Simulator

logger = logging.getLogger(__name__)

EXTENSION_KEY = "kuroneko_sandbox"


def bind(app: Flask, simulator: Simulator) -> None:
    """Make ``simulator`` the one ``app`` serves."""
    app.extensions[EXTENSION_KEY] = simulator


def simulator() -> Simulator:
    """The simulator of the current app."""
    return current_app.extensions[EXTENSION_KEY]

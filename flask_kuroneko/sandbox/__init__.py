"""Offline simulator of Yamato's クロネコ代金後払いサービス API (spec §6).

Imports nothing from the rest of the package except ``flask_kuroneko.yamato`` (codes, Japanese
text rules, the JST timezone), so it runs stand-alone: ``flask --app flask_kuroneko.sandbox
run``. Its import graph has no cycle (``tests/test_sandbox_layout.py``). See ``docs/sandbox.md``.
"""
from __future__ import annotations

from .adapter import SandboxAdapter, sandbox_session
from .app import create_app
from .config import Contracts, MerchantConfig, SmsSettings
from .lifecycle import TransitionError, UnknownTransaction
from .simulator import Exchange, Simulator
from .store import MemoryStore, SqliteStore

__all__ = [
    "Contracts", "Exchange", "MemoryStore", "MerchantConfig", "SandboxAdapter", "Simulator",
    "SmsSettings", "SqliteStore", "TransitionError", "UnknownTransaction", "create_app",
    "sandbox_session",
]

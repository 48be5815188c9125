"""A tally of Yamato's answers while some work runs (one sweep, one job): how many requests
went out and how many found Yamato unreachable (no usable answer). The CLI exits non-zero on an
unreachable Yamato, so cron monitoring notices an outage that the sweep itself survives.

The tally lives in a context variable: threads and concurrent requests keep their own.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator


@dataclass
class Tally:
    requests: int = 0
    unreachable: int = 0


_current: ContextVar[Tally | None] = ContextVar("kuroneko_yamato_tally", default=None)


@contextmanager
def counting() -> Iterator[Tally]:
    """Count Yamato's answers inside the block."""
    tally = Tally()
    token = _current.set(tally)
    try:
        yield tally
    finally:
        _current.reset(token)


def record(*, reached: bool) -> None:
    """One request went out; ``reached``: a usable answer came back (even a refusal)."""
    tally = _current.get()
    if tally is not None:
        tally.requests += 1
        if not reached:
            tally.unreachable += 1

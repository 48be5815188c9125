"""A small in-process sliding-window limiter (failed logins and the like).

Why in memory: it guards one process against bursts (a script trying passwords) with no table
and no dependency. Several worker processes each keep their own window, so the effective limit
is the per-process limit times the number of processes: a deployment with many processes puts
the same limit in its front proxy or uses a shared store (see SECURITY.md). Limits that must
hold across processes (SMS per phone number) are counted in the database instead
(``checkout/limits.py``).
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from typing import Callable


class SlidingWindowLimiter:
    """At most ``limit`` events per key within ``seconds``; ``max_keys`` bounds the memory."""

    def __init__(self, limit: int, seconds: float, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        if limit < 1 or seconds <= 0:
            raise ValueError("limit must be >= 1 and seconds > 0")
        self.limit, self.seconds, self.max_keys, self.clock = limit, seconds, max_keys, clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _window(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)       # forget the oldest key first
        horizon = now - self.seconds
        while events and events[0] <= horizon:
            events.popleft()
        self._events.move_to_end(key)
        return events

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._window(key, self.clock())) >= self.limit

    def hit(self, key: str) -> None:
        with self._lock:
            self._window(key, self.clock()).append(self.clock())

    def retry_after(self, key: str) -> int:
        """Seconds until one more event is allowed (0 when allowed now)."""
        with self._lock:
            now = self.clock()
            events = self._window(key, now)
            if len(events) < self.limit:
                return 0
            return max(1, math.ceil(events[len(events) - self.limit] + self.seconds - now))

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

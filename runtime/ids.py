"""Ids shaped like Trigger.dev's (`run_…`, `batch_…`): a prefix, then time-ordered base-36 text.

Time-ordered ids sort in creation order, which the run list's cursor relies on.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 36)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


_lock = threading.Lock()
_last_micros = 0


def _next_micros() -> int:
    # Strictly increasing within the process, so ids made in the same microsecond (or after
    # the wall clock steps back) still sort in creation order.
    global _last_micros
    with _lock:
        _last_micros = max(time.time_ns() // 1000, _last_micros + 1)
        return _last_micros


def new_id(prefix: str) -> str:
    # 10 chars of microseconds (good past year 5000) + 15 random chars: 25 chars like a cuid.
    stamp = _base36(_next_micros(), 10)
    # 80 random bits cut to 15 base-36 digits (77.5 bits): one call to the OS, not fifteen.
    rand = _base36(int.from_bytes(secrets.token_bytes(10), "big"), 15)
    return f"{prefix}_{stamp}{rand}"


def run_id() -> str:
    return new_id("run")


def batch_id() -> str:
    return new_id("batch")


def attempt_id() -> str:
    return new_id("attempt")


def queue_id() -> str:
    return new_id("queue")


def secret_key(env_slug: str) -> str:
    return f"tt_{env_slug}_{secrets.token_urlsafe(24)}"

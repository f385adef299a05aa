"""Waits that hold no compute: `wait.for_` and `wait.until`.

    from tether import task, wait

    @task(id="onboarding")
    def onboarding(payload: dict) -> None:
        send_welcome(payload)
        wait.for_(days=1)                 # the run is checkpointed: no process, no slot held
        send_tips(payload)
        wait.until(payload["trial_ends"])  # a datetime
        send_upgrade_offer(payload)

A wait takes the next slot of the run's journal and records its deadline there. A wait shorter
than the project's `checkpoint_waits_over` (5 s) sleeps in the run's process; a longer one
checkpoints: the run becomes WAITING, its actor and its queue slot are released, and when the
deadline comes the run is queued again, re-executes from the top (steps and waits already made
return at once) and carries on after the wait. Code before a wait runs again on resume, so put
side effects in steps. In async tasks, `await wait.for_async(...)` and `await wait.until_async(...)`.
Outside a run a wait is a plain sleep.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from typing import Any

from tether import tokens
from tether._wire import as_utc, iso, utcnow
from tether.errors import ValidationError
from tether.options import WireDuration
from tether.steps import Journal, Slot, current_journal, journalled, journalled_async


class WaitSuspended(BaseException):
    """Raised inside a run to checkpoint it until `until`, every run in `children` has ended and
    every token in `tokens` is completed; the executor catches it. A BaseException so that a task's
    `except Exception:` cannot swallow it. Waits made in parallel merge into one (`merged`).
    """

    def __init__(self, until: datetime | None = None, child: str | None = None, token: str | None = None, children: list[str] | None = None, tokens: list[str] | None = None) -> None:
        self.until = until
        self.children = [child] if child else list(children or [])
        self.tokens = [token] if token else list(tokens or [])
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [f"until {iso(self.until)}"] if self.until else []
        parts += [f"for runs {', '.join(self.children)}"] if self.children else []
        parts += [f"for tokens {', '.join(self.tokens)}"] if self.tokens else []
        return " and ".join(parts) or "for nothing"

    def as_hook_argument(self) -> dict[str, Any]:
        """What on_wait hooks receive as `wait`."""
        wait: dict[str, Any] = {"until": iso(self.until)} if self.until else {}
        if self.children:
            wait["run_ids"] = self.children
        if len(self.tokens) == 1:
            wait["token_id"] = self.tokens[0]
        elif self.tokens:
            wait["token_ids"] = self.tokens
        return wait

    @classmethod
    def merged(cls, pauses: list[WaitSuspended]) -> WaitSuspended:
        """One checkpoint for waits made in parallel: the run resumes when all of them are over."""
        untils = [p.until for p in pauses if p.until is not None]
        children = list(dict.fromkeys(c for p in pauses for c in p.children))
        tokens = list(dict.fromkeys(t for p in pauses for t in p.tokens))
        return cls(max(untils) if untils else None, children=children, tokens=tokens)


def _duration(seconds: float, minutes: float, hours: float, days: float) -> float:
    total = seconds + 60 * minutes + 3600 * hours + 86400 * days
    if total < 0:
        raise ValidationError(f"wait.for_ needs a duration of zero or more, got {total:g} seconds")
    return float(total)


def _parse_deadline(recorded: dict[str, Any]) -> datetime:
    return as_utc(datetime.fromisoformat(recorded["until"].replace("Z", "+00:00")))


def _remaining(until: datetime, journal: Journal) -> float | None:
    """Seconds to sleep here, or None when the wait must checkpoint instead."""
    left = (until - utcnow()).total_seconds()
    if left <= 0:
        return 0.0
    return left if left <= journal.checkpoint_waits_over else None


def _target(when: datetime) -> datetime:
    if not isinstance(when, datetime):
        raise ValidationError(f"wait.until needs a datetime, got {type(when).__name__}")
    return as_utc(when)


def _first(proposed: datetime, refuse_past: bool) -> datetime:
    """A wait's deadline at its first execution (on resume it has passed, as it should)."""
    if refuse_past and proposed <= utcnow():
        raise ValidationError(f"wait.until({iso(proposed)}) is in the past (throw_if_in_the_past=True)")
    return proposed


class Wait:
    """`tether.wait`."""

    def _sync(self, name: str, proposed: datetime, refuse_past: bool = False) -> None:
        journal = current_journal()
        if journal is None:
            time.sleep(max(0.0, (_first(proposed, refuse_past) - utcnow()).total_seconds()))
            return
        until = _parse_deadline(journalled(journal, "wait", name, lambda _: {"until": iso(_first(proposed, refuse_past))}))
        left = _remaining(until, journal)
        if left is None:
            raise WaitSuspended(until)
        time.sleep(left)

    async def _async(self, name: str, proposed: datetime, refuse_past: bool = False) -> None:
        journal = current_journal()
        if journal is None:
            await asyncio.sleep(max(0.0, (_first(proposed, refuse_past) - utcnow()).total_seconds()))
            return
        async def first(_: Slot) -> dict[str, Any]:
            return {"until": iso(_first(proposed, refuse_past))}

        until = _parse_deadline(await journalled_async(journal, "wait", name, first))
        left = _remaining(until, journal)
        if left is None:
            raise WaitSuspended(until)
        await asyncio.sleep(left)

    def for_(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> None:
        """Wait this long (the parts add up), measured from the wait's first execution."""
        self._sync("for", utcnow() + timedelta(seconds=_duration(seconds, minutes, hours, days)))

    def until(self, when: datetime, *, throw_if_in_the_past: bool = False) -> None:
        """Wait until `when` (naive datetimes are UTC); at once if it has passed, unless told to raise."""
        self._sync("until", _target(when), throw_if_in_the_past)

    async def for_async(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> None:
        await self._async("for", utcnow() + timedelta(seconds=_duration(seconds, minutes, hours, days)))

    async def until_async(self, when: datetime, *, throw_if_in_the_past: bool = False) -> None:
        await self._async("until", _target(when), throw_if_in_the_past)

    # -- tokens (see tether.tokens) ------------------------------------------------------------------

    def create_token(
        self,
        *,
        timeout: WireDuration | datetime | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: WireDuration | None = None,
        tags: list[str] | str | None = None,
    ) -> tokens.WaitToken:
        """A token a run can wait for; `timeout` ("7d", seconds or a datetime) ends the wait unsuccessfully."""
        return tokens.create(tokens.request(timeout, idempotency_key, idempotency_key_ttl, tags))

    async def create_token_async(
        self,
        *,
        timeout: WireDuration | datetime | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: WireDuration | None = None,
        tags: list[str] | str | None = None,
    ) -> tokens.WaitToken:
        return await tokens.create_async(tokens.request(timeout, idempotency_key, idempotency_key_ttl, tags))

    def for_token(self, token: tokens.WaitToken | str) -> tokens.WaitTokenResult[Any]:
        """Wait until the token is completed (`ok`, `output`) or times out (`ok` false, `error`)."""
        return tokens.wait_for(token)

    async def for_token_async(self, token: tokens.WaitToken | str) -> tokens.WaitTokenResult[Any]:
        return await tokens.wait_for_async(token)

    def complete_token(self, token: tokens.WaitToken | str, data: Any = None) -> bool:
        """Complete the token with `data`; ConflictError if it already was (the first value stands)."""
        return tokens.complete(token, data)

    def retrieve_token(self, token_id: str) -> tokens.TokenInfo:
        return tokens.retrieve(token_id)

    def list_tokens(self, status: str | None = None, limit: int = 20, after: str | None = None) -> list[tokens.TokenInfo]:
        """Tokens of this environment, newest first; `after` is the last id of the previous page."""
        return tokens.list_page(status, limit, after)


wait = Wait()

"""Retry policies: exponential back-off with jitter, as Trigger.dev's `retry` option."""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tether._wire import camel


class Retry(BaseModel):
    """How often and how patiently a failing run is tried again.

    The n-th retry waits `min_timeout * factor**(n-1)` seconds, multiplied by a random
    factor in [1, 2) when `randomize` is on, and never more than `max_timeout`.

        @task(id="sync", retry=Retry(max_attempts=5, factor=1.8, min_timeout=0.5, max_timeout=30))
    """

    model_config = ConfigDict(frozen=True, alias_generator=camel, populate_by_name=True, extra="forbid")

    max_attempts: int = Field(default=3, ge=1, le=100)
    factor: float = Field(default=2.0, ge=1.0)
    min_timeout: float = Field(default=1.0, ge=0.0, description="seconds")
    max_timeout: float = Field(default=30.0, ge=0.0, description="seconds")
    randomize: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> Retry:
        if self.max_timeout < self.min_timeout:
            raise ValueError("max_timeout must be at least min_timeout")
        return self

    def delay_before(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry `retry_number` (1 = the first retry)."""
        base = self.min_timeout * self.factor ** max(retry_number - 1, 0)
        jitter = (rng or random).uniform(1.0, 2.0) if self.randomize else 1.0
        return min(self.max_timeout, base * jitter)

    def bounds(self, retry_number: int) -> tuple[float, float]:
        """The smallest and largest delay `delay_before` can return; tests check against these."""
        base = self.min_timeout * self.factor ** max(retry_number - 1, 0)
        high = base * 2 if self.randomize else base
        return min(self.max_timeout, base), min(self.max_timeout, high)


NO_RETRY = Retry(max_attempts=1)

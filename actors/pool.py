"""The warm pool: RunActors kept alive between runs of the same version and machine.

Starting a Ray worker process costs far more than a run's bookkeeping, so the Scheduler
reuses an idle actor of the right kind when it can, starts one when the cluster has room,
and otherwise evicts the longest-idle actor of another kind to make room.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tether.machines import Machine


@dataclass(frozen=True)
class ActorKind:
    environment_id: str
    version: str
    machine: Machine

    def needs(self) -> dict[str, float]:
        return {"CPU": self.machine.cpus, "GPU": self.machine.gpus, "memory": self.machine.memory_gb * 1024**3}


@dataclass(eq=False)
class PooledActor:
    number: int
    kind: ActorKind
    handle: Any
    runs_done: int = 0
    busy: bool = False
    ready: bool = False
    idle_since: float = field(default_factory=time.monotonic)


class ActorPool:
    def __init__(self, create: Callable[[ActorKind], Any], destroy: Callable[[Any], None], capacity: dict[str, float]) -> None:
        self._create = create
        self._destroy = destroy
        self.capacity = dict(capacity)
        self._actors: list[PooledActor] = []
        self._numbers = itertools.count(1)
        self.started = 0
        self.reused = 0

    def __repr__(self) -> str:
        busy = sum(a.busy for a in self._actors)
        return f"ActorPool(live={len(self._actors)} busy={busy} started={self.started} reused={self.reused})"

    @property
    def actors(self) -> list[PooledActor]:
        return list(self._actors)

    def _used(self) -> dict[str, float]:
        used: dict[str, float] = {"CPU": 0.0, "GPU": 0.0, "memory": 0.0}
        for actor in self._actors:
            for resource, amount in actor.kind.needs().items():
                used[resource] += amount
        return used

    def _fits(self, needs: dict[str, float], freed: dict[str, float] | None = None) -> bool:
        used = self._used()
        for resource, amount in needs.items():
            if amount and used[resource] - (freed or {}).get(resource, 0.0) + amount > self.capacity.get(resource, 0.0) + 1e-9:
                return False
        return True

    def _idle(self, kind: ActorKind | None = None, *, other_than: ActorKind | None = None) -> list[PooledActor]:
        idle = [a for a in self._actors if not a.busy and (kind is None or a.kind == kind) and a.kind != other_than]
        return sorted(idle, key=lambda a: a.idle_since)

    def _evictions(self, kind: ActorKind) -> list[PooledActor] | None:
        """The fewest longest-idle actors of other kinds whose removal makes room, or None."""
        needs = kind.needs()
        freed: dict[str, float] = {}
        chosen: list[PooledActor] = []
        for actor in self._idle(other_than=kind):
            if self._fits(needs, freed):
                break
            chosen.append(actor)
            for resource, amount in actor.kind.needs().items():
                freed[resource] = freed.get(resource, 0.0) + amount
        return chosen if self._fits(needs, freed) else None

    def free_slots(self, unit: float = 0.5) -> int:
        """Roughly how many more runs could start now: idle actors, plus room for new small ones."""
        spare_cpu = self.capacity.get("CPU", 0.0) - self._used()["CPU"]
        return len(self._idle()) + max(0, int(spare_cpu / unit + 1e-9))

    def can_host(self, kind: ActorKind) -> bool:
        return bool(self._idle(kind)) or self._fits(kind.needs()) or self._evictions(kind) is not None

    def acquire(self, kind: ActorKind) -> PooledActor:
        idle = self._idle(kind)
        if idle:
            # A booted actor before one still importing; among those, the most recently used (warmest caches).
            actor = max(idle, key=lambda a: (a.ready, a.idle_since))
            self.reused += 1
        else:
            for victim in self._evictions(kind) or []:
                self.discard(victim)
            actor = PooledActor(next(self._numbers), kind, self._create(kind))
            self._actors.append(actor)
            self.started += 1
        actor.busy = True
        return actor

    def release(self, actor: PooledActor, *, retire: bool) -> None:
        actor.busy = False
        actor.idle_since = time.monotonic()
        if retire:
            self.discard(actor)

    def mark_ready(self, handle: Any) -> None:
        for actor in self._actors:
            if actor.handle is handle:
                actor.ready = True

    def discard(self, actor: PooledActor) -> None:
        if actor in self._actors:
            self._actors.remove(actor)
            self._destroy(actor.handle)

    def prestart(self, kind: ActorKind, count: int) -> None:
        """Start actors ahead of demand until `count` of this kind are idle, as room allows."""
        have = len([a for a in self._actors if a.kind == kind and not a.busy])
        for _ in range(max(0, count - have)):
            if not self._fits(kind.needs()):
                return
            self._actors.append(PooledActor(next(self._numbers), kind, self._create(kind)))
            self.started += 1

    def retire_stale(self, is_current: Callable[[ActorKind], bool]) -> None:
        """Drop idle actors of versions no longer current (after a reload or deploy)."""
        for actor in self._idle():
            if not is_current(actor.kind):
                self.discard(actor)

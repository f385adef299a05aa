"""The warm pool: RunActors kept alive between runs of the same version and machine, placed on nodes.

Starting a Ray worker process costs far more than a run's bookkeeping, so the Scheduler
reuses an idle actor of the right kind when it can, starts one when a node has room, and
otherwise evicts the longest-idle actors of another kind on one node to make room.

The pool places each new actor on a node itself (the Scheduler pins it there), so it knows
what every node has left: a run that needs 4 CPUs is not started because two nodes have 2
spare each, and a run that needs a resource no node has stays queued, counted as demand for
the autoscaler, instead of waiting inside Ray where no one can see it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tether.machines import Machine

Resources = dict[str, float]
_EPSILON = 1e-9


def _common(resource: str) -> bool:
    """What every node has (or names a node), so having it does not make a node special."""
    return resource in ("CPU", "memory") or resource.startswith("node:")


@dataclass(frozen=True)
class ActorKind:
    environment_id: str
    version: str
    machine: Machine

    def needs(self) -> Resources:
        needs = {"CPU": self.machine.cpus, "memory": self.machine.memory_gb * 1024**3}
        if self.machine.gpus:
            needs["GPU"] = self.machine.gpus
        needs.update(self.machine.resources)
        return needs


@dataclass(eq=False)
class PooledActor:
    number: int
    kind: ActorKind
    handle: Any
    node_id: str
    runs_done: int = 0
    busy: bool = False
    ready: bool = False
    idle_since: float = field(default_factory=time.monotonic)


def _fits(capacity: Resources, used: Resources, needs: Resources, freed: Resources | None = None) -> bool:
    freed = freed or {}
    return all(
        used.get(name, 0.0) - freed.get(name, 0.0) + amount <= capacity.get(name, 0.0) + _EPSILON for name, amount in needs.items() if amount
    )


def _add(total: Resources, more: Resources, sign: float = 1.0) -> None:
    for name, amount in more.items():
        total[name] = total.get(name, 0.0) + sign * amount


class ActorPool:
    """`create(kind, node_id)` starts an actor pinned to that node; `nodes` maps each live node to its resources."""

    def __init__(self, create: Callable[[ActorKind, str], Any], destroy: Callable[[Any], None], nodes: dict[str, Resources]) -> None:
        self._create = create
        self._destroy = destroy
        self.nodes: dict[str, Resources] = {node: dict(resources) for node, resources in nodes.items()}
        self._actors: list[PooledActor] = []
        self._used: dict[str, Resources] = {}  # per node, kept as actors start and go: placement reads it often
        self._numbers = itertools.count(1)
        self.started = 0
        self.reused = 0
        self.generation = 0  # bumped whenever the actors change, so what is derived from them can be cached

    def __repr__(self) -> str:
        busy = sum(a.busy for a in self._actors)
        return f"ActorPool(nodes={len(self.nodes)} live={len(self._actors)} busy={busy} started={self.started} reused={self.reused})"

    @property
    def actors(self) -> list[PooledActor]:
        return list(self._actors)

    # -- nodes ------------------------------------------------------------------------------------------

    def set_nodes(self, nodes: dict[str, Resources]) -> list[PooledActor]:
        """The cluster's live nodes now. Returns the actors that were on nodes now gone (they died with them)."""
        self.nodes = {node: dict(resources) for node, resources in nodes.items()}
        lost = [a for a in self._actors if a.node_id not in self.nodes]
        for actor in lost:
            self._forget(actor)
        return lost

    def used(self, node_id: str) -> Resources:
        return dict(self._used.get(node_id, {}))

    def _forget(self, actor: PooledActor) -> None:
        self._actors.remove(actor)
        _add(self._used.setdefault(actor.node_id, {}), actor.kind.needs(), -1.0)
        self.generation += 1

    # -- placement -----------------------------------------------------------------------------------------

    def _idle(self, kind: ActorKind | None = None, *, other_than: ActorKind | None = None) -> list[PooledActor]:
        idle = [a for a in self._actors if not a.busy and (kind is None or a.kind == kind) and a.kind != other_than]
        return sorted(idle, key=lambda a: a.idle_since)

    def _room_on(self, kind: ActorKind) -> str | None:
        """The node to start a new actor of `kind` on without evicting anything, or None.

        Nodes without resources the kind does not ask for come first (a CPU run should leave a
        GPU node to GPU runs), then the node with the least CPU to spare: runs are packed, so a
        node with nothing on it stays empty and the autoscaler can remove it.
        """
        needs = kind.needs()
        fitting = [node for node, capacity in self.nodes.items() if _fits(capacity, self._used.get(node, {}), needs)]
        if not fitting:
            return None

        def preference(node: str) -> tuple[int, float]:
            capacity = self.nodes[node]
            extra = sum(1 for name, amount in capacity.items() if name not in needs and not _common(name) and amount > 0)
            return (extra, capacity.get("CPU", 0.0) - self._used.get(node, {}).get("CPU", 0.0))

        return min(fitting, key=preference)

    def _evictions(self, kind: ActorKind) -> tuple[str, list[PooledActor]] | None:
        """The node where evicting the fewest longest-idle actors of other kinds makes room, and those actors."""
        needs = kind.needs()
        idle_on: dict[str, list[PooledActor]] = {}
        for actor in self._idle(other_than=kind):
            idle_on.setdefault(actor.node_id, []).append(actor)
        best: tuple[str, list[PooledActor]] | None = None
        for node, capacity in self.nodes.items():
            used, freed, chosen = self._used.get(node, {}), {}, []
            for actor in idle_on.get(node, []):
                if _fits(capacity, used, needs, freed):
                    break
                chosen.append(actor)
                _add(freed, actor.kind.needs())
            if _fits(capacity, used, needs, freed) and (best is None or len(chosen) < len(best[1])):
                best = (node, chosen)
        return best

    def free_slots(self, unit: float = 0.5) -> int:
        """Roughly how many more runs could start now: idle actors, plus room for new small ones."""
        spare = sum(max(0.0, capacity.get("CPU", 0.0) - self._used.get(node, {}).get("CPU", 0.0)) for node, capacity in self.nodes.items())
        return len(self._idle()) + int(spare / unit + _EPSILON)

    def can_host(self, kind: ActorKind) -> bool:
        return bool(self._idle(kind)) or self._room_on(kind) is not None or self._evictions(kind) is not None

    def acquire(self, kind: ActorKind) -> PooledActor:
        """An idle actor of this kind, or a new one where there is room (call `can_host` first)."""
        idle = self._idle(kind)
        if idle:
            # A booted actor before one still importing; among those, the most recently used (warmest caches).
            actor = max(idle, key=lambda a: (a.ready, a.idle_since))
            self.reused += 1
        else:
            node = self._room_on(kind)
            if node is None:
                placement = self._evictions(kind)
                if placement is None:
                    raise RuntimeError(f"no node can host {kind.machine.name} now")
                node, victims = placement
                for victim in victims:
                    self.discard(victim)
            actor = self._start(kind, node)
        actor.busy = True
        return actor

    def _start(self, kind: ActorKind, node: str) -> PooledActor:
        actor = PooledActor(next(self._numbers), kind, self._create(kind, node), node)
        self._actors.append(actor)
        _add(self._used.setdefault(node, {}), kind.needs())
        self.started += 1
        self.generation += 1
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
            self._forget(actor)
            self._destroy(actor.handle)

    def prestart(self, kind: ActorKind, count: int) -> None:
        """Start actors ahead of demand until `count` of this kind are idle, as room allows."""
        have = len([a for a in self._actors if a.kind == kind and not a.busy])
        for _ in range(max(0, count - have)):
            node = self._room_on(kind)
            if node is None:
                return
            self._start(kind, node)

    def retire_stale(self, is_current: Callable[[ActorKind], bool]) -> None:
        """Drop idle actors of versions no longer current (after a reload or deploy)."""
        for actor in self._idle():
            if not is_current(actor.kind):
                self.discard(actor)

    def retire_idle(self, older_than: float, keep: Callable[[ActorKind], int]) -> None:
        """Drop actors idle for `older_than` seconds beyond the `keep(kind)` spares of their kind, so the
        resources they hold go back to the cluster (and a node with nothing on it can be scaled down)."""
        now = time.monotonic()
        kept: dict[ActorKind, int] = {}
        for actor in reversed(self._idle()):  # the most recently used are the ones kept
            kept[actor.kind] = kept.get(actor.kind, 0) + 1
            if kept[actor.kind] > keep(actor.kind) and now - actor.idle_since > older_than:
                self.discard(actor)

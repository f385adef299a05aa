"""The cluster as the Scheduler sees it: its live nodes, and the demand the autoscaler hears of.

Nodes come and go (a worker is added by the autoscaler, preempted, or killed), so the
Scheduler reads the live ones every few seconds and whenever an actor dies. Runs that are
queued but cannot be placed on any node are demand: the Scheduler asks Ray's autoscaler for
them with `request_resources`, which on a cluster launched with `ray up` (or KubeRay with
autoscaling on) starts a node that fits; without an autoscaler the request is a no-op and
the runs wait QUEUED until a node that fits joins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray

from tether.machines import PRESETS

from tether.actors.fairness import Candidate
from tether.actors.pool import ActorKind, ActorPool, PooledActor, Resources

log = logging.getLogger("tether.scheduler")
NODES_TTL = 2.0  # seconds a read of the cluster's nodes is trusted
FORCED_READ_GAP = 0.25  # seconds between reads asked for out of turn (a node losing many actors asks once per death)
DEMAND_TTL = 5.0  # seconds between looks at the backlog for what no node can host
MAX_DEMAND = 200  # bundles of queued runs told to the autoscaler at most, so a huge backlog asks for a bounded cluster


@dataclass(frozen=True)
class Node:
    id: str
    address: str
    is_head: bool
    resources: Resources


def _schedulable(resources: dict[str, float]) -> Resources:
    # The object store is Ray's own; `node:<ip>` stays, as a run may be pinned to a node with it.
    return {name: float(v) for name, v in resources.items() if name != "object_store_memory"}


def _shown(resources: Resources) -> Resources:
    return {name: amount for name, amount in resources.items() if not name.startswith("node:")}


def live_nodes() -> dict[str, Node]:
    nodes = {}
    for info in ray.nodes():
        if info.get("Alive"):
            resources = info.get("Resources", {})
            nodes[info["NodeID"]] = Node(
                info["NodeID"], info.get("NodeManagerAddress", ""), "node:__internal_head__" in resources, _schedulable(resources)
            )
    return nodes


def _bundle(needs: Resources) -> dict[str, float]:
    return {name: amount for name, amount in needs.items() if amount}


def _request(bundles: list[dict[str, float]]) -> None:
    from ray.autoscaler.sdk import request_resources

    request_resources(bundles=bundles)


def _says_node_left(died: BaseException) -> bool:
    """Ray's own word that an actor went with its node: drained (preempted), declared dead, or a pinned
    creation on a node that no longer exists."""
    if isinstance(died, ray.exceptions.ActorUnschedulableError):
        return True
    return isinstance(died, ray.exceptions.ActorDiedError) and (died.preempted or "its node has died" in str(died))


def withdraw_from_autoscaler() -> None:
    """Ask the autoscaler for nothing (Tether is stopping: a request stays until replaced)."""
    try:
        _request([])
    except Exception:  # Ray is going away too
        pass


class ClusterView:
    """The pool's nodes kept current, and the bundles last asked of the autoscaler."""

    def __init__(self, pool: ActorPool) -> None:
        self.pool = pool
        self.nodes: dict[str, Node] = {}
        self._read_at = -NODES_TTL
        self.demand: Counter[ActorKind] = Counter()
        self._demand_seen_at = -DEMAND_TTL
        self._asked: tuple[int, tuple[tuple[ActorKind, int], ...]] | None = None
        self._ask_failed = False
        self.nodes_lost = 0

    def refresh(self, *, force: bool = False) -> list[PooledActor]:
        """Read the live nodes (every NODES_TTL seconds, or sooner when forced); the actors lost with nodes that left."""
        since = time.monotonic() - self._read_at
        if since < (FORCED_READ_GAP if force else NODES_TTL):
            return []
        self._read_at = time.monotonic()
        return self._adopt(live_nodes())

    def _adopt(self, nodes: dict[str, Node]) -> list[PooledActor]:
        """These are the live nodes now: the pool follows; the actors lost with nodes that left."""
        gone = set(self.nodes) - set(nodes)
        joined = set(nodes) - set(self.nodes)
        if gone:
            self.nodes_lost += len(gone)
            log.warning("%d node(s) left the cluster: %s", len(gone), ", ".join(n[:8] for n in sorted(gone)))
        if joined and self.nodes:
            log.warning("%d node(s) joined the cluster: %s", len(joined), ", ".join(n[:8] for n in sorted(joined)))
        self.nodes = nodes
        return self.pool.set_nodes({node.id: node.resources for node in nodes.values()})

    def is_live(self, node_id: str) -> bool:
        return node_id in self.nodes

    def forget(self, node_id: str) -> list[PooledActor]:
        """A node Ray said is gone, before a read of the nodes shows it: place nothing more there."""
        return self._adopt({n: node for n, node in self.nodes.items() if n != node_id})

    # -- demand -----------------------------------------------------------------------------------------

    def demand_due(self) -> bool:
        return time.monotonic() - self._demand_seen_at >= DEMAND_TTL

    def set_demand(self, wanted: list[ActorKind]) -> None:
        """What the backlog holds that the cluster cannot host now (from a probe, replacing the last one)."""
        self.demand = Counter(wanted[:MAX_DEMAND])
        self._demand_seen_at = time.monotonic()

    def ask_autoscaler(self) -> None:
        """Tell the autoscaler what the cluster should hold: every actor the pool keeps, and the unplaced runs.

        `request_resources` is declarative and counts what is in use, so the request is the whole
        picture; it is re-sent only when that changes, and shrinks when the backlog drains.
        """
        key = (self.pool.generation, tuple(sorted(self.demand.items(), key=lambda item: repr(item[0]))))
        if key == self._asked:
            return
        bundles = [_bundle(actor.kind.needs()) for actor in self.pool.actors]
        bundles += [_bundle(kind.needs()) for kind, count in self.demand.most_common() for _ in range(count)]
        try:
            _request(bundles)
        except Exception as exc:  # a lost hint costs only scale-up latency; the next change asks again
            if not self._ask_failed:
                log.warning("could not ask the autoscaler for resources: %s", exc)
            self._ask_failed = True
            return
        self._ask_failed = False
        self._asked = key

    # -- what `tether status` shows --------------------------------------------------------------------

    def describe(self, in_flight: dict[str, Any]) -> list[dict[str, Any]]:
        runs_on: dict[str, list[dict[str, Any]]] = {}
        now = time.monotonic()
        for flight in in_flight.values():
            runs_on.setdefault(flight.actor.node_id, []).append(
                {
                    "id": flight.run_id,
                    "environmentId": flight.actor.kind.environment_id,
                    "task": flight.spec.id,
                    "machine": flight.actor.kind.machine.name,
                    "seconds": round(now - flight.started, 1),
                }
            )
        out = []
        for node in sorted(self.nodes.values(), key=lambda n: (not n.is_head, n.address, n.id)):
            actors = [a for a in self.pool.actors if a.node_id == node.id]
            out.append(
                {
                    "id": node.id,
                    "address": node.address,
                    "isHead": node.is_head,
                    "resources": _shown(node.resources),
                    "used": _shown(self.pool.used(node.id)),
                    "actors": len(actors),
                    "idleActors": sum(not a.busy for a in actors),
                    "runs": sorted(runs_on.get(node.id, []), key=lambda r: r["id"]),
                }
            )
        return out

    def describe_demand(self) -> list[dict[str, Any]]:
        return [{"machine": kind.machine.name, "resources": _bundle(kind.needs()), "runs": count} for kind, count in self.demand.most_common()]


class NodeAwareness:
    """The Scheduler's dealings with the cluster's nodes; a part of `SchedulerCore` (as its timers are)."""

    cluster: ClusterView
    pool: ActorPool
    settings: Any
    current_versions: dict[str, str]
    _warmed: set[tuple[str, str]]

    # Provided by SchedulerCore.
    _candidates: Callable[[int, dict[str, str]], list[tuple[Candidate, str | None]]]
    _kind_of: Callable[[str, str | None, str, str | None], tuple[ActorKind, Any] | None]
    in_flight: dict[str, Any]

    def _refresh_cluster(self, *, force: bool = False) -> None:
        try:
            lost = self.cluster.refresh(force=force)
        except Exception:  # the GCS restarting, most likely: keep the last view and read again later
            log.exception("could not read the cluster's nodes")
            return
        if lost:
            self._warmed.clear()  # warm actors on a node that left are started again elsewhere

    def _spares(self, kind: ActorKind) -> int:
        """How many idle actors of a kind are kept however long they idle: the warm ones of current versions."""
        warm = kind.machine == PRESETS["small-1x"] and self.current_versions.get(kind.environment_id) == kind.version
        return self.settings.warm_actors if warm else 0

    def _probe_demand(self, current: dict[str, str]) -> None:
        """Look past what can start now, every DEMAND_TTL seconds: the queued runs (up to MAX_DEMAND, within
        their queues' and lanes' limits) beyond what the cluster can host are what the autoscaler is asked for."""
        room = self.pool.free_slots()
        wanted: list[ActorKind] = []
        for cand, version in self._candidates(MAX_DEMAND // 2, current):
            found = self._kind_of(cand.environment_id, version, cand.task_identifier, cand.machine)
            if found is None:
                continue
            if room > 0 and self.pool.can_host(found[0]):
                room -= 1  # about to start where there is room
            else:
                wanted.append(found[0])
        self.cluster.set_demand(wanted)

    async def _lost_with_its_node(self, node_id: str, died: BaseException) -> bool:
        """Whether an actor died because its node left the cluster (then its run is not at fault).

        Ray says so outright for a drained node, or once its health checks have declared the node
        dead. But a node whose processes were killed makes its actors unreachable within seconds,
        while it stays listed alive until those checks fail (about 15 s by default): an actor that
        is only unreachable is watched for `node_death_window` seconds before its death is put down
        to the actor alone. Once a node is found gone, no new actor is placed on it.
        """
        if _says_node_left(died):
            self._node_left(node_id)
            return True
        deadline = time.monotonic() + self.settings.node_death_window
        await asyncio.sleep(FORCED_READ_GAP)  # a read of the nodes taken after this death, not before it
        while True:
            self._refresh_cluster(force=True)
            if not self.cluster.is_live(node_id):
                return True
            if not isinstance(died, ray.exceptions.ActorUnavailableError) or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.5)

    def _node_left(self, node_id: str) -> None:
        if self.cluster.forget(node_id):
            self._warmed.clear()

    def cluster_status(self) -> dict[str, Any]:
        """The nodes, what the pool holds on each and the runs executing there; what queued runs wait for."""
        self._refresh_cluster()
        return {"nodes": self.cluster.describe(self.in_flight), "waitingFor": self.cluster.describe_demand()}

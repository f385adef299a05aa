"""The cluster as the Scheduler sees it: its live nodes, and the demand the autoscaler hears of.

Nodes come and go (a worker is added by the autoscaler, preempted, or killed), so the
Scheduler reads the live ones every few seconds and whenever an actor dies. Runs that are
queued but cannot be placed on any node are demand: the Scheduler asks Ray's autoscaler for
them with `request_resources`, which on a cluster launched with `ray up` (or KubeRay with
autoscaling on) starts a node that fits; without an autoscaler the request is a no-op and
the runs wait QUEUED until a node that fits joins.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import ray

from tether.actors.pool import ActorKind, ActorPool, PooledActor, Resources

log = logging.getLogger("tether.scheduler")
NODES_TTL = 2.0  # seconds a read of the cluster's nodes is trusted
DEMAND_TTL = 5.0  # seconds between looks at the backlog's shape while no run can start
MAX_DEMAND = 200  # bundles of queued runs told to the autoscaler at most, so a huge backlog asks for a bounded cluster


@dataclass(frozen=True)
class Node:
    id: str
    address: str
    is_head: bool
    resources: Resources


def _schedulable(resources: dict[str, float]) -> Resources:
    # Ray's own bookkeeping resources name a node or the object store: no run asks for them.
    return {name: float(v) for name, v in resources.items() if not name.startswith("node:") and name != "object_store_memory"}


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


class ClusterView:
    """The pool's nodes kept current, and the bundles last asked of the autoscaler."""

    def __init__(self, pool: ActorPool) -> None:
        self.pool = pool
        self.nodes: dict[str, Node] = {}
        self._read_at = -NODES_TTL
        self.demand: Counter[ActorKind] = Counter()
        self._demand_seen_at = -DEMAND_TTL
        self._asked: list[dict[str, float]] | None = None
        self.nodes_lost = 0

    def refresh(self, *, force: bool = False) -> list[PooledActor]:
        """Read the live nodes (at most every NODES_TTL seconds unless forced); the actors lost with nodes that left."""
        if not force and time.monotonic() - self._read_at < NODES_TTL:
            return []
        self._read_at = time.monotonic()
        nodes = live_nodes()
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

    # -- demand -----------------------------------------------------------------------------------------

    def demand_due(self) -> bool:
        return time.monotonic() - self._demand_seen_at >= DEMAND_TTL

    def start_round(self) -> None:
        """A dispatch round that looks at the backlog: the demand it finds replaces the last one."""
        self.demand = Counter()
        self._demand_seen_at = time.monotonic()

    def wanted(self, kind: ActorKind) -> None:
        """A queued run of this kind could not be placed on any node."""
        self.demand[kind] += 1

    def ask_autoscaler(self) -> None:
        """Tell the autoscaler what the cluster should hold: every actor the pool keeps, and the unplaced runs.

        `request_resources` is declarative and counts what is in use, so the request is the whole
        picture; it is re-sent only when that changes, and shrinks when the backlog drains.
        """
        bundles = [_bundle(actor.kind.needs()) for actor in self.pool.actors]
        unplaced = [_bundle(kind.needs()) for kind, count in self.demand.most_common() for _ in range(count)]
        bundles += unplaced[:MAX_DEMAND]
        key = sorted(bundles, key=lambda b: sorted(b.items()))
        if key == self._asked:
            return
        try:
            _request(bundles)
        except Exception as exc:  # a lost hint costs only scale-up latency; the next change asks again
            log.warning("could not ask the autoscaler for resources: %s", exc)
            return
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
                    "resources": node.resources,
                    "used": self.pool.used(node.id),
                    "actors": len(actors),
                    "idleActors": sum(not a.busy for a in actors),
                    "runs": sorted(runs_on.get(node.id, []), key=lambda r: r["id"]),
                }
            )
        return out

    def describe_demand(self) -> list[dict[str, Any]]:
        return [{"machine": kind.machine.name, "resources": _bundle(kind.needs()), "runs": count} for kind, count in self.demand.most_common()]

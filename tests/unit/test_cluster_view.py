"""The Scheduler's view of the cluster: nodes read from Ray, demand told to the autoscaler (Ray faked)."""

from __future__ import annotations

from typing import Any

import pytest

from tether.actors import nodes
from tether.actors.nodes import ClusterView, Node
from tether.actors.pool import ActorKind, ActorPool
from tether.machines import PRESETS, Machine

GIB = 1024**3
SMALL = ActorKind("env", "v1", PRESETS["small-1x"])
GPU = ActorKind("env", "v1", PRESETS["gpu-1x"])
WIDE = ActorKind("env", "v1", Machine(name="wide", cpus=1, memory_gb=1, resources={"wide": 1}))


class FakeRay:
    def __init__(self) -> None:
        self.live: dict[str, Node] = {}
        self.requests: list[list[dict[str, float]]] = []

    def node(self, node_id: str, **resources: float) -> None:
        self.live[node_id] = Node(node_id, "10.0.0.1", False, {"CPU": 4.0, "memory": 16.0 * GIB, f"node:{node_id}": 1.0, **resources})


@pytest.fixture
def ray(monkeypatch: pytest.MonkeyPatch) -> FakeRay:
    fake = FakeRay()
    monkeypatch.setattr(nodes, "live_nodes", lambda: dict(fake.live))
    monkeypatch.setattr(nodes, "_request", fake.requests.append)
    return fake


def view(ray: FakeRay) -> ClusterView:
    pool = ActorPool(lambda kind, node: f"{kind.machine.name}@{node}", lambda handle: None, {})
    cluster = ClusterView(pool)
    cluster.refresh(force=True)
    return cluster


def test_the_autoscaler_hears_of_what_the_actors_hold_and_of_the_runs_no_node_can_host(ray: FakeRay) -> None:
    ray.node("a")
    cluster = view(ray)
    cluster.pool.acquire(SMALL)
    cluster.set_demand([GPU, GPU])
    cluster.ask_autoscaler()
    assert ray.requests == [[{"CPU": 0.5, "memory": 0.5 * GIB}] + [{"CPU": 4, "memory": 16 * GIB, "GPU": 1}] * 2]


def test_the_request_is_sent_again_only_when_it_changes_and_shrinks_when_the_backlog_drains(ray: FakeRay) -> None:
    ray.node("a")
    cluster = view(ray)
    cluster.set_demand([WIDE])
    cluster.ask_autoscaler()
    cluster.ask_autoscaler()
    assert len(ray.requests) == 1
    cluster.set_demand([])
    cluster.ask_autoscaler()
    assert ray.requests[-1] == []


def test_demand_is_bounded(ray: FakeRay) -> None:
    cluster = view(ray)
    cluster.set_demand([WIDE] * (nodes.MAX_DEMAND + 50))
    cluster.ask_autoscaler()
    assert len(ray.requests[-1]) == nodes.MAX_DEMAND


def test_a_failed_request_is_tried_again_at_the_next_tick(ray: FakeRay, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = view(ray)
    cluster.set_demand([WIDE])

    def refuse(bundles: Any) -> None:
        raise RuntimeError("GCS restarting")

    monkeypatch.setattr(nodes, "_request", refuse)
    cluster.ask_autoscaler()
    monkeypatch.setattr(nodes, "_request", ray.requests.append)
    cluster.ask_autoscaler()
    assert ray.requests == [[{"CPU": 1, "memory": GIB, "wide": 1}]]


def test_a_node_that_left_takes_its_actors_out_of_the_pool(ray: FakeRay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nodes, "FORCED_READ_GAP", 0.0)
    ray.node("a")
    ray.node("b", wide=1.0)
    cluster = view(ray)
    on_b = cluster.pool.acquire(WIDE)
    del ray.live["b"]
    assert cluster.refresh() == []  # not yet: the last read is still trusted
    assert cluster.refresh(force=True) == [on_b]
    assert cluster.nodes_lost == 1 and not cluster.is_live("b")


def test_the_status_names_each_nodes_resources_without_rays_node_markers(ray: FakeRay) -> None:
    ray.node("a", accel=2.0)
    cluster = view(ray)
    cluster.pool.acquire(SMALL)
    (node,) = cluster.describe({})
    assert node["resources"] == {"CPU": 4.0, "memory": 16.0 * GIB, "accel": 2.0}
    assert node["used"] == {"CPU": 0.5, "memory": 0.5 * GIB}
    assert (node["actors"], node["idleActors"], node["runs"]) == (1, 0, [])


def test_a_node_ray_says_is_gone_is_forgotten_at_once(ray: FakeRay) -> None:
    ray.node("a")
    ray.node("b", wide=1.0)
    cluster = view(ray)
    on_b = cluster.pool.acquire(WIDE)
    assert cluster.forget("b") == [on_b]
    assert not cluster.pool.can_host(WIDE)  # nothing more is placed there, before the next read
    assert cluster.forget("b") == [] and cluster.nodes_lost == 1


def test_only_rays_word_that_the_node_went_counts_as_its_loss_at_once() -> None:
    from ray import exceptions

    assert nodes._says_node_left(exceptions.ActorUnschedulableError("The node specified via NodeAffinitySchedulingStrategy doesn't exist"))
    assert not nodes._says_node_left(exceptions.ActorDiedError())  # a worker process that died: the node may be fine
    assert not nodes._says_node_left(exceptions.ActorUnavailableError("Socket closed", None))  # to be watched, not judged

"""The warm actor pool, with fake create/destroy callables standing in for Ray."""

from __future__ import annotations

from typing import Any

import pytest

from tether.actors.pool import ActorKind, ActorPool, PooledActor
from tether.machines import PRESETS, Machine

GIB = 1024**3
SMALL = PRESETS["small-1x"]  # 0.5 CPU, 0.5 GiB
V1 = ActorKind("env", "v1", SMALL)
V2 = ActorKind("env", "v2", SMALL)
OTHER_ENV = ActorKind("env-2", "v1", SMALL)
BIG = ActorKind("env", "v1", PRESETS["small-2x"])  # 1 CPU, 1 GiB


class FakeRay:
    """Hands out numbered handles and remembers which were destroyed."""

    def __init__(self) -> None:
        self.created: list[tuple[str, ActorKind]] = []
        self.nodes: list[str] = []
        self.destroyed: list[str] = []

    def create(self, kind: ActorKind, node: str) -> str:
        handle = f"actor-{len(self.created) + 1}"
        self.created.append((handle, kind))
        self.nodes.append(node)
        return handle

    def destroy(self, handle: Any) -> None:
        self.destroyed.append(handle)


@pytest.fixture
def ray() -> FakeRay:
    return FakeRay()


def pool_for(ray: FakeRay, small_actors: int) -> ActorPool:
    """A pool with room for exactly `small_actors` small-1x actors."""
    return ActorPool(ray.create, ray.destroy, {"node-1": {"CPU": 0.5 * small_actors, "memory": 0.5 * GIB * small_actors}})


def idle(pool: ActorPool, actor: PooledActor, since: float) -> None:
    pool.release(actor, retire=False)
    actor.idle_since = since  # pin the order instead of relying on the clock


def test_an_idle_actor_of_the_same_kind_is_reused(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    first = pool.acquire(V1)
    pool.release(first, retire=False)
    again = pool.acquire(V1)
    assert again is first
    assert (pool.started, pool.reused, len(ray.created)) == (1, 1, 1)


def test_the_most_recently_used_idle_actor_is_reused(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    older, newer = pool.acquire(V1), pool.acquire(V1)
    idle(pool, older, since=1.0)
    idle(pool, newer, since=2.0)
    assert pool.acquire(V1) is newer


def test_an_idle_actor_of_another_version_is_not_reused(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    pool.release(pool.acquire(V1), retire=False)
    second = pool.acquire(V2)
    assert second.kind == V2
    assert (pool.started, pool.reused) == (2, 0)


def test_a_new_actor_is_created_when_there_is_room(ray: FakeRay) -> None:
    pool = pool_for(ray, 2)
    a, b = pool.acquire(V1), pool.acquire(V1)
    assert a is not b
    assert a.busy and b.busy
    assert [h for h, _ in ray.created] == [a.handle, b.handle]
    assert ray.destroyed == []


def test_when_full_the_longest_idle_actor_of_another_kind_is_evicted(ray: FakeRay) -> None:
    pool = pool_for(ray, 3)
    stale, recent, busy = pool.acquire(V2), pool.acquire(OTHER_ENV), pool.acquire(V2)
    idle(pool, stale, since=1.0)
    idle(pool, recent, since=2.0)
    assert busy.busy
    fresh = pool.acquire(V1)
    assert ray.destroyed == [stale.handle]
    assert set(pool.actors) == {recent, busy, fresh}


def test_eviction_frees_as_many_idle_actors_as_a_bigger_kind_needs(ray: FakeRay) -> None:
    pool = pool_for(ray, 3)
    a, b, c = pool.acquire(V2), pool.acquire(V2), pool.acquire(V2)
    for since, actor in enumerate((c, a, b)):
        idle(pool, actor, since=float(since))
    pool.acquire(BIG)  # needs two small actors' worth
    assert ray.destroyed == [c.handle, a.handle]
    assert pool.actors[0] is b


def test_can_host_a_kind_with_an_idle_actor_even_when_full(ray: FakeRay) -> None:
    pool = pool_for(ray, 1)
    pool.release(pool.acquire(V1), retire=False)
    assert pool.can_host(V1)


def test_can_host_another_kind_when_an_idle_actor_can_be_evicted(ray: FakeRay) -> None:
    pool = pool_for(ray, 1)
    pool.release(pool.acquire(V2), retire=False)
    assert pool.can_host(V1)


def test_cannot_host_when_every_actor_is_busy_and_the_pool_is_full(ray: FakeRay) -> None:
    pool = pool_for(ray, 2)
    pool.acquire(V1)
    pool.acquire(V2)
    assert not pool.can_host(V1)
    assert not pool.can_host(V2)
    assert not pool.can_host(OTHER_ENV)


def test_cannot_host_a_kind_bigger_than_the_whole_pool(ray: FakeRay) -> None:
    assert not pool_for(ray, 1).can_host(BIG)


def test_cannot_host_a_gpu_kind_without_gpus(ray: FakeRay) -> None:
    assert not pool_for(ray, 100).can_host(ActorKind("env", "v1", PRESETS["gpu-1x"]))


def test_releasing_with_retire_destroys_the_actor(ray: FakeRay) -> None:
    pool = pool_for(ray, 2)
    actor = pool.acquire(V1)
    pool.release(actor, retire=True)
    assert ray.destroyed == [actor.handle]
    assert pool.actors == []


def test_retire_stale_discards_only_idle_actors_of_non_current_versions(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    stale_idle, stale_busy, current_idle = pool.acquire(V1), pool.acquire(V1), pool.acquire(V2)
    pool.release(stale_idle, retire=False)
    pool.release(current_idle, retire=False)
    pool.retire_stale(lambda kind: kind.version == "v2")
    assert ray.destroyed == [stale_idle.handle]
    assert set(pool.actors) == {stale_busy, current_idle}


def test_prestart_starts_idle_actors_up_to_the_count(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    pool.prestart(V1, 2)
    assert [(a.kind, a.busy) for a in pool.actors] == [(V1, False), (V1, False)]
    pool.prestart(V1, 2)  # already there: nothing more
    assert len(ray.created) == 2


def test_prestart_keeps_spares_beside_busy_actors_of_the_kind(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    pool.acquire(V1)
    pool.prestart(V1, 2)
    assert sorted(a.busy for a in pool.actors) == [False, False, True]


def test_acquire_prefers_a_booted_actor(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    pool.prestart(V1, 2)
    booting, booted = pool.actors
    pool.mark_ready(booted.handle)
    assert pool.acquire(V1) is booted


def test_free_slots_counts_idle_actors_and_room_for_new_ones(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    assert pool.free_slots() == 4
    busy = pool.acquire(V1)
    pool.prestart(V1, 1)
    assert pool.free_slots() == 1 + 2
    pool.release(busy, retire=False)
    assert pool.free_slots() == 2 + 2


def test_prestart_stops_at_capacity(ray: FakeRay) -> None:
    pool = pool_for(ray, 3)
    pool.acquire(V2)
    pool.prestart(V1, 10)
    assert len(pool.actors) == 3
    assert sum(a.kind == V1 for a in pool.actors) == 2
    assert ray.destroyed == []


def test_prestarted_actors_are_reused_by_acquire(ray: FakeRay) -> None:
    pool = pool_for(ray, 2)
    pool.prestart(V1, 1)
    actor = pool.acquire(V1)
    assert (pool.started, pool.reused, actor.busy) == (1, 1, True)


def test_repr_shows_the_counters(ray: FakeRay) -> None:
    pool = pool_for(ray, 3)
    actor = pool.acquire(V1)
    pool.acquire(V1)
    pool.release(actor, retire=False)
    pool.acquire(V1)
    assert repr(pool) == "ActorPool(nodes=1 live=2 busy=2 started=2 reused=1)"


# -- several nodes ------------------------------------------------------------------------------------------

ACCEL = ActorKind("env", "v1", Machine(name="custom", cpus=1, memory_gb=1, resources={"accel": 1}))
CPU_NODE = {"CPU": 2.0, "memory": 8.0 * GIB}
ACCEL_NODE = {"CPU": 2.0, "memory": 8.0 * GIB, "accel": 1.0}


def test_a_run_needing_a_custom_resource_goes_to_the_only_node_that_has_it(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"cpu": CPU_NODE, "accel": ACCEL_NODE})
    actor = pool.acquire(ACCEL)
    assert actor.node_id == "accel"
    assert pool.used("accel") == {"CPU": 1.0, "memory": 1.0 * GIB, "accel": 1.0}


def test_cpu_runs_go_to_nodes_without_extra_resources_first(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"accel": ACCEL_NODE, "cpu": CPU_NODE})
    assert [pool.acquire(V1).node_id for _ in range(4)] == ["cpu"] * 4
    assert pool.acquire(V1).node_id == "accel"  # only when the plain node is full


def test_runs_are_packed_onto_the_busiest_node_that_fits_so_an_empty_node_stays_empty(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"a": CPU_NODE, "b": CPU_NODE, "c": CPU_NODE})
    first = pool.acquire(BIG).node_id
    assert pool.acquire(BIG).node_id == first  # the node already in use, while it has room
    third = pool.acquire(BIG).node_id
    assert third != first
    assert pool.acquire(V1).node_id == third
    assert len({a.node_id for a in pool.actors}) == 2


def test_used_is_kept_per_node_as_actors_come_and_go(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"a": CPU_NODE})
    actors = [pool.acquire(V1) for _ in range(3)]
    assert pool.used("a")["CPU"] == 1.5
    pool.release(actors[0], retire=True)
    pool.discard(actors[1])
    assert pool.used("a")["CPU"] == 0.5
    generation = pool.generation
    pool.set_nodes({})
    assert pool.used("a")["CPU"] == 0.0 and pool.generation > generation


def test_a_kind_no_node_can_fit_is_not_hosted_even_when_the_sum_of_nodes_could(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"a": CPU_NODE, "b": CPU_NODE})
    four_cpus = ActorKind("env", "v1", PRESETS["large-1x"])  # 4 CPUs: two nodes of 2 have them only together
    assert not pool.can_host(four_cpus)


def test_a_custom_resource_no_node_has_is_infeasible_until_a_node_with_it_joins(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"cpu": CPU_NODE})
    assert not pool.can_host(ACCEL)
    pool.set_nodes({"cpu": CPU_NODE, "accel": ACCEL_NODE})
    assert pool.can_host(ACCEL)


def test_actors_on_a_node_that_left_are_dropped_without_being_destroyed(ray: FakeRay) -> None:
    one_cpu = {"CPU": 1.0, "memory": 8.0 * GIB}
    pool = ActorPool(ray.create, ray.destroy, {"a": one_cpu, "b": one_cpu})
    on_a, on_b = pool.acquire(BIG), pool.acquire(BIG)
    assert on_a.node_id != on_b.node_id
    lost = pool.set_nodes({on_b.node_id: one_cpu})
    assert lost == [on_a]
    assert pool.actors == [on_b]
    assert ray.destroyed == []  # they died with their node


def test_eviction_happens_on_one_node_only(ray: FakeRay) -> None:
    pool = ActorPool(ray.create, ray.destroy, {"a": {"CPU": 1.0, "memory": 8.0 * GIB}, "b": {"CPU": 1.0, "memory": 8.0 * GIB}})
    actors = [pool.acquire(V2) for _ in range(4)]  # two small actors on each node
    for since, actor in enumerate(actors):
        idle(pool, actor, since=float(since))
    fresh = pool.acquire(BIG)  # needs a whole node: the two idle actors of one node make way
    victims = [a for a in actors if a.handle in ray.destroyed]
    assert len(victims) == 2 and {a.node_id for a in victims} == {fresh.node_id}


def test_retire_idle_keeps_the_spares_and_drops_the_rest_once_idle_long_enough(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    actors = [pool.acquire(V1) for _ in range(3)]
    for since, actor in enumerate(actors):
        idle(pool, actor, since=float(since))
    pool.retire_idle(older_than=60.0, keep=lambda kind: 1)
    assert pool.actors == [actors[2]]  # the most recently used is the spare kept
    assert ray.destroyed == [actors[1].handle, actors[0].handle]


def test_retire_idle_leaves_recently_used_actors(ray: FakeRay) -> None:
    pool = pool_for(ray, 4)
    pool.release(pool.acquire(V1), retire=False)
    pool.retire_idle(older_than=60.0, keep=lambda kind: 0)
    assert len(pool.actors) == 1

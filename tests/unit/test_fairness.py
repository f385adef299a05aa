"""Choosing which queued runs start: limits hold, lanes take turns, one busy tenant cannot starve another."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from tether.actors.fairness import Candidate, Occupancy, QueueLimits, TurnBook, choose, lane_capacity

ROOMY = QueueLimits(limit=1000, key_limit=1000)


def cand(run_id: str, *, queue: str = "q", key: str = "", rank: float = 0.0) -> Candidate:
    return Candidate(run_id, "env", queue, key, "task", "small-1x", rank)


def limits(by_queue: dict[str, QueueLimits] | None = None, default: QueueLimits = ROOMY) -> Callable[[str], QueueLimits]:
    return lambda name: (by_queue or {}).get(name, default)


def anything(_: Candidate) -> bool:
    return True


def ids(chosen: list[Candidate]) -> list[str]:
    return [c.run_id for c in chosen]


def test_a_queue_limit_is_never_exceeded() -> None:
    candidates = [cand(f"r{i}", key=f"k{i % 4}", rank=i) for i in range(50)]
    occupancy = Occupancy()
    chosen = choose(candidates, limits(default=QueueLimits(limit=3, key_limit=10)), occupancy, TurnBook(), anything)
    assert len(chosen) == 3
    assert occupancy.by_queue["q"] == 3


def test_runs_already_holding_slots_count_against_the_queue_limit() -> None:
    occupancy = Occupancy()
    occupancy.add(("q", ""))
    occupancy.add(("q", "k"))
    chosen = choose([cand(f"r{i}", rank=i) for i in range(5)], limits(default=QueueLimits(limit=3, key_limit=1)), occupancy, TurnBook(), anything)
    assert ids(chosen) == ["r0"]


def test_a_queue_over_its_limit_after_lowering_starts_nothing() -> None:
    occupancy = Occupancy()
    for _ in range(4):
        occupancy.add(("q", ""))
    assert choose([cand("r1")], limits(default=QueueLimits(limit=2, key_limit=1)), occupancy, TurnBook(), anything) == []


def test_limits_hold_and_free_slots_are_filled_across_random_workloads() -> None:
    rng = random.Random(2024)
    for _ in range(300):
        queues = {f"q{n}": QueueLimits(limit=rng.randint(0, 6), key_limit=rng.randint(1, 3)) for n in range(3)}
        occupancy = Occupancy()
        for _ in range(rng.randint(0, 6)):
            occupancy.add((rng.choice(list(queues)), rng.choice(["", "k0", "k1"])))
        before_queue, before_lane = Counter(occupancy.by_queue), Counter(occupancy.by_lane)
        candidates = [
            cand(f"r{i}", queue=rng.choice(list(queues)), key=rng.choice(["", "k0", "k1", "k2"]), rank=rng.random())
            for i in range(rng.randint(0, 40))
        ]
        chosen = choose(candidates, limits(queues), occupancy, TurnBook(), anything)

        started_queue = Counter(c.queue for c in chosen)
        started_lane = Counter(c.lane for c in chosen)
        for name, queue_limits in queues.items():
            if started_queue[name]:
                assert before_queue[name] + started_queue[name] <= queue_limits.limit
        for lane, count in started_lane.items():
            if lane[1]:
                assert before_lane[lane] + count <= queues[lane[0]].key_limit
        assert len(set(ids(chosen))) == len(chosen)
        # Work-conserving: whatever was left behind had no room to start.
        for left in set(candidates) - set(chosen):
            assert lane_capacity(left.lane, queues[left.queue], occupancy) <= 0


def test_a_concurrency_key_lane_holds_at_most_its_key_limit() -> None:
    candidates = [cand(f"r{i}", key="tenant-a", rank=i) for i in range(6)]
    chosen = choose(candidates, limits(default=QueueLimits(limit=10, key_limit=2)), Occupancy(), TurnBook(), anything)
    assert ids(chosen) == ["r0", "r1"]


def test_a_key_lane_already_at_its_limit_starts_nothing_while_other_lanes_do() -> None:
    occupancy = Occupancy()
    occupancy.add(("q", "tenant-a"))
    candidates = [cand("a1", key="tenant-a"), cand("b1", key="tenant-b", rank=1)]
    chosen = choose(candidates, limits(default=QueueLimits(limit=10, key_limit=1)), occupancy, TurnBook(), anything)
    assert ids(chosen) == ["b1"]


def test_runs_without_a_key_are_bounded_only_by_the_queue_limit() -> None:
    candidates = [cand(f"r{i}", rank=i) for i in range(6)]
    chosen = choose(candidates, limits(default=QueueLimits(limit=4, key_limit=1)), Occupancy(), TurnBook(), anything)
    assert ids(chosen) == ["r0", "r1", "r2", "r3"]


def test_a_tenant_with_one_run_is_not_starved_by_a_tenant_with_two_hundred() -> None:
    busy = [cand(f"a{i:03}", key="tenant-a", rank=i) for i in range(200)]
    lone = cand("b", key="tenant-b", rank=10_000)  # queued after every one of tenant A's runs
    chosen = choose([*busy, lone], limits(default=QueueLimits(limit=2, key_limit=5)), Occupancy(), TurnBook(), anything)
    assert len(chosen) == 2
    assert "b" in ids(chosen)


def test_lanes_take_turns_round_robin() -> None:
    candidates = [cand(f"{lane}{n}", key=lane, rank=n * 10 + i) for i, lane in enumerate("xyz") for n in range(3)]
    chosen = choose(candidates, limits(default=QueueLimits(limit=7, key_limit=10)), Occupancy(), TurnBook(), anything)
    assert ids(chosen) == ["x0", "y0", "z0", "x1", "y1", "z1", "x2"]


def test_within_a_lane_runs_start_in_rank_order_then_by_id() -> None:
    candidates = [cand("r3", rank=2), cand("r2", rank=1), cand("r1", rank=1), cand("r0", rank=5)]
    assert ids(choose(candidates, limits(), Occupancy(), TurnBook(), anything)) == ["r1", "r2", "r3", "r0"]


def test_a_paused_queue_starts_nothing() -> None:
    paused = QueueLimits(limit=10, key_limit=10, paused=True)
    candidates = [cand("r1"), cand("r2", key="k")]
    occupancy = Occupancy()
    assert choose(candidates, limits(default=paused), occupancy, TurnBook(), anything) == []
    assert dict(occupancy.by_queue) == {}


def test_a_paused_queue_does_not_hold_up_other_queues() -> None:
    queues = {"paused": QueueLimits(limit=10, key_limit=10, paused=True)}
    candidates = [cand("p1", queue="paused"), cand("o1", queue="open", rank=1)]
    assert ids(choose(candidates, limits(queues), Occupancy(), TurnBook(), anything)) == ["o1"]


def test_a_run_that_cannot_start_skips_its_lane_without_using_capacity() -> None:
    candidates = [cand("a1", key="a", rank=0), cand("a2", key="a", rank=1), cand("b1", key="b", rank=2), cand("c1", key="c", rank=3)]
    occupancy = Occupancy()
    chosen = choose(candidates, limits(default=QueueLimits(limit=2, key_limit=5)), occupancy, TurnBook(), lambda c: c.run_id != "a1")
    # a2 waits behind a1: the lane is skipped, not reordered.
    assert ids(chosen) == ["b1", "c1"]
    assert occupancy.by_queue["q"] == 2
    assert ("q", "a") not in occupancy.by_lane


def test_a_lane_served_last_goes_after_lanes_never_served() -> None:
    turns = TurnBook()
    turns.serve(("q", "a"))
    candidates = [cand("a1", key="a", rank=0), cand("b1", key="b", rank=5)]
    chosen = choose(candidates, limits(default=QueueLimits(limit=1, key_limit=5)), Occupancy(), turns, anything)
    assert ids(chosen) == ["b1"]


def test_the_lane_served_longest_ago_goes_first() -> None:
    turns = TurnBook()
    turns.serve(("q", "b"))
    turns.serve(("q", "a"))
    candidates = [cand("a1", key="a", rank=0), cand("b1", key="b", rank=5)]
    chosen = choose(candidates, limits(default=QueueLimits(limit=1, key_limit=5)), Occupancy(), turns, anything)
    assert ids(chosen) == ["b1"]


def test_successive_rounds_alternate_between_lanes() -> None:
    turns = TurnBook()
    one_at_a_time = limits(default=QueueLimits(limit=1, key_limit=5))
    waiting = [cand(f"a{i}", key="a", rank=i) for i in range(3)] + [cand(f"b{i}", key="b", rank=100 + i) for i in range(3)]
    started: list[str] = []
    for _ in range(4):
        chosen = choose(waiting, one_at_a_time, Occupancy(), turns, anything)
        started += ids(chosen)
        waiting = [c for c in waiting if c not in chosen]
    assert started == ["a0", "b0", "a1", "b1"]


def test_the_turn_book_remembers_when_each_lane_was_served() -> None:
    turns = TurnBook()
    assert turns.last_served(("q", "a")) == -1
    turns.serve(("q", "a"))
    turns.serve(("q", "b"))
    assert turns.last_served(("q", "a")) < turns.last_served(("q", "b"))


def test_occupancy_forgets_lanes_that_empty() -> None:
    occupancy = Occupancy()
    occupancy.add(("q", "k"))
    occupancy.remove(("q", "k"))
    assert (dict(occupancy.by_queue), dict(occupancy.by_lane)) == ({}, {})

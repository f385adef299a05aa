"""Choosing which queued runs start next: queue limits, concurrency-key lanes, fair round-robin.

Pure logic over plain records, so it is tested without Ray or a database. A lane is one
(queue, concurrency key); runs without a key share the queue's default lane. Lanes take turns:
the lane served longest ago goes first, so a tenant with 10,000 queued runs delays another
tenant's single run by at most one turn.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Lane = tuple[str, str]  # (queue, concurrency_key)


@dataclass(frozen=True)
class Candidate:
    run_id: str
    environment_id: str
    queue: str
    concurrency_key: str
    task_identifier: str
    machine: str
    rank: float

    @property
    def lane(self) -> Lane:
        return (self.queue, self.concurrency_key)


@dataclass(frozen=True)
class QueueLimits:
    limit: int
    key_limit: int
    paused: bool = False


@dataclass
class Occupancy:
    """Runs holding a slot right now, by queue and by lane."""

    by_queue: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_lane: dict[Lane, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, lane: Lane) -> None:
        self.by_queue[lane[0]] += 1
        self.by_lane[lane] += 1

    def remove(self, lane: Lane) -> None:
        self.by_queue[lane[0]] -= 1
        self.by_lane[lane] -= 1
        if self.by_queue[lane[0]] <= 0:
            del self.by_queue[lane[0]]
        if self.by_lane[lane] <= 0:
            del self.by_lane[lane]


class TurnBook:
    """Remembers when each lane was last served."""

    def __init__(self) -> None:
        self._turn = 0
        self._last: dict[Lane, int] = {}

    def last_served(self, lane: Lane) -> int:
        return self._last.get(lane, -1)

    def serve(self, lane: Lane) -> None:
        self._turn += 1
        self._last[lane] = self._turn
        if len(self._last) > 100_000:  # forget long-idle lanes; they come back as never served
            for old in sorted(self._last, key=self._last.__getitem__)[:50_000]:
                del self._last[old]


def lane_capacity(lane: Lane, limits: QueueLimits, occupancy: Occupancy) -> int:
    queue_room = limits.limit - occupancy.by_queue.get(lane[0], 0)
    if lane[1] == "":
        return queue_room
    return min(queue_room, limits.key_limit - occupancy.by_lane.get(lane, 0))


def choose(
    candidates: Iterable[Candidate],
    limits: Callable[[str], QueueLimits],
    occupancy: Occupancy,
    turns: TurnBook,
    can_start: Callable[[Candidate], bool],
) -> list[Candidate]:
    """The runs to start now, in order, respecting every limit; `occupancy` and `turns` are updated."""
    lanes: dict[Lane, deque[Candidate]] = defaultdict(deque)
    for candidate in sorted(candidates, key=lambda c: (c.rank, c.run_id)):
        lanes[candidate.lane].append(candidate)
    order = sorted(lanes, key=lambda lane: (turns.last_served(lane), lanes[lane][0].rank))
    chosen: list[Candidate] = []
    while order:
        still_open: list[Lane] = []
        for lane in order:
            queue_limits = limits(lane[0])
            pending = lanes[lane]
            if queue_limits.paused or not pending or lane_capacity(lane, queue_limits, occupancy) <= 0:
                continue
            candidate = pending[0]
            if not can_start(candidate):
                continue
            pending.popleft()
            occupancy.add(lane)
            turns.serve(lane)
            chosen.append(candidate)
            if pending:
                still_open.append(lane)
        order = still_open
    return chosen

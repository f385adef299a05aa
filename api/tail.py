"""Following a table by its sequence column when rows may commit out of sequence order.

On PostgreSQL a sequence value is taken when a row is inserted, not when it commits: a
transaction holding seq 100 may commit after one holding seq 101. A reader that moved its cursor
past 101 would never see 100. A `Tail` keeps a floor below which every row is known to be read,
re-reads from the floor, and remembers the rows above it it has already handed out. A hole in
the sequence is waited for GAP_SECONDS (a transaction still open), then given up (a rolled-back
insert leaves a hole for good). New rows are handed out at once either way: only the floor waits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

GAP_SECONDS = 2.0
MAX_GAPS = 10_000  # a jump this wide in the sequence is not waited for hole by hole


class Tail:
    def __init__(self, floor: int) -> None:
        self.floor = floor
        self._above: set[int] = set()  # handed out, above the floor
        self._holes: dict[int, float] = {}  # missing seq → when first noticed

    def fresh(self, seqs: Iterable[int], now: float | None = None) -> set[int]:
        """Of the seqs read after the floor, those not handed out before; the floor then moves up."""
        now = time.monotonic() if now is None else now
        new = {seq for seq in seqs if seq > self.floor and seq not in self._above}
        self._above |= new
        top = max(self._above, default=self.floor)
        if top - self.floor > MAX_GAPS:  # far behind (a burst, or a jump): stop waiting for the oldest holes
            self._above = {seq for seq in self._above if seq > top - MAX_GAPS}
            self._holes = {seq: since for seq, since in self._holes.items() if seq > top - MAX_GAPS}
            self.floor = top - MAX_GAPS
        for seq in range(self.floor + 1, top):
            if seq not in self._above:
                self._holes.setdefault(seq, now)
        while True:
            following = self.floor + 1
            if following in self._above:
                self._above.discard(following)
            elif following in self._holes and now - self._holes[following] >= GAP_SECONDS:
                del self._holes[following]
            else:
                break
            self._holes.pop(following, None)
            self.floor = following
        return new

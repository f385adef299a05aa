"""The realtime hub's tail sees a row that commits after a later one, and gives up on holes in time."""

from __future__ import annotations

from tether.api.tail import GAP_SECONDS, Tail


def test_rows_in_order_move_the_floor_and_are_handed_out_once() -> None:
    tail = Tail(10)
    assert tail.fresh([11, 12, 13], now=0) == {11, 12, 13}
    assert tail.floor == 13
    assert tail.fresh([12, 13], now=0) == set()


def test_a_row_that_commits_late_is_still_handed_out() -> None:
    tail = Tail(0)
    assert tail.fresh([2, 3], now=0) == {2, 3}  # 1 is still in an open transaction
    assert tail.floor == 0  # so the next read starts below it
    assert tail.fresh([1, 2, 3], now=0.5) == {1}
    assert tail.floor == 3


def test_a_hole_that_never_fills_is_given_up_after_the_gap_time() -> None:
    tail = Tail(0)
    tail.fresh([2], now=0)
    assert tail.fresh([2], now=GAP_SECONDS / 2) == set() and tail.floor == 0
    tail.fresh([2, 4], now=GAP_SECONDS + 0.1)
    assert tail.floor == 2  # hole 1 given up; hole 3 is new and waited for
    tail.fresh([2, 4], now=2 * GAP_SECONDS + 0.2)
    assert tail.floor == 4


def test_a_jump_far_ahead_is_not_waited_for_hole_by_hole() -> None:
    tail = Tail(0)
    assert tail.fresh([1_000_000], now=0) == {1_000_000}
    assert tail.floor >= 1_000_000 - 10_000

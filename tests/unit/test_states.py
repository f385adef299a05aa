"""The run state machine, as data: what may follow what."""

from __future__ import annotations

import pytest

from tether.runtime.states import ACTIVE, PENDING, TERMINAL, TRANSITIONS, UNSUCCESSFUL, RunStatus, allowed_from, can_transition

S = RunStatus


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_nothing_may_leave_a_terminal_status(terminal: RunStatus) -> None:
    assert [to for to in RunStatus if can_transition(terminal, to)] == []


def test_no_transition_lists_a_terminal_status_as_its_source() -> None:
    assert {to: sources & TERMINAL for to, sources in TRANSITIONS.items() if sources & TERMINAL} == {}


def test_the_transition_table_names_only_known_statuses() -> None:
    named = set(TRANSITIONS).union(*TRANSITIONS.values())
    assert all(isinstance(status, RunStatus) for status in named)


def test_every_status_but_the_first_can_be_entered() -> None:
    # DELAYED and QUEUED are where runs start; every other status needs a way in.
    assert set(RunStatus) - {S.DELAYED, S.QUEUED} <= set(TRANSITIONS)


@pytest.mark.parametrize(("frm", "to"), [(S.QUEUED, S.DEQUEUED), (S.DEQUEUED, S.EXECUTING), (S.EXECUTING, S.COMPLETED)])
def test_the_happy_path_is_allowed(frm: RunStatus, to: RunStatus) -> None:
    assert can_transition(frm, to)


def test_a_completed_run_cannot_be_queued_again() -> None:
    assert not can_transition(S.COMPLETED, S.QUEUED)


def test_a_run_cannot_skip_dequeuing_to_start_executing() -> None:
    assert not can_transition(S.QUEUED, S.EXECUTING)


def test_a_run_expires_only_while_it_has_not_started() -> None:
    assert allowed_from(S.EXPIRED) == {S.DELAYED, S.QUEUED}
    assert [frm for frm in RunStatus if can_transition(frm, S.EXPIRED)] == [S.DELAYED, S.QUEUED]


def test_a_run_completes_only_from_executing() -> None:
    assert allowed_from(S.COMPLETED) == {S.EXECUTING}


def test_every_non_terminal_run_can_be_canceled() -> None:
    assert allowed_from(S.CANCELED) == set(RunStatus) - TERMINAL


def test_the_status_groups_partition_the_statuses() -> None:
    waiting = {S.WAITING}
    groups = [TERMINAL, PENDING, ACTIVE, waiting]
    assert sum(len(g) for g in groups) == len(RunStatus)
    assert set().union(*groups) == set(RunStatus)


def test_unsuccessful_is_every_terminal_status_but_completed() -> None:
    assert UNSUCCESSFUL == TERMINAL - {S.COMPLETED}
    assert S.COMPLETED not in UNSUCCESSFUL


def test_statuses_are_their_own_wire_names() -> None:
    assert all(status.value == status.name for status in RunStatus)
    assert S("EXECUTING") is S.EXECUTING

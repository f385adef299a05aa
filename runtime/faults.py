"""Named fault points: places where a chaos test makes production code die on purpose.

A test arms a point by setting TETHER_FAULT="<point>@<marker file>" in a process's environment
(the Scheduler takes it as its `fault` setting). The first process to reach the point creates
the marker and exits at once, as a SIGKILL would leave it: no cleanup, no commit. Once the
marker exists the point is inert, so the restarted process recovers as it would in production.
"""

from __future__ import annotations

import os

ENV = "TETHER_FAULT"
EXIT_CODE = 137

SCHEDULE_FIRED = "schedules.fired"  # runs of due schedules written, their transaction not yet committed


def point(name: str) -> None:
    armed = os.environ.get(ENV)
    if not armed:
        return
    armed_name, _, marker = armed.partition("@")
    if armed_name != name:
        return
    try:
        with open(marker, "x"):
            pass
    except FileExistsError:
        return  # fired once already: run on
    os._exit(EXIT_CODE)

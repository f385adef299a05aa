"""Running the demo project's task modules as modules of this project, so that the notebooks' tests
run the demo's own code (the notebooks trigger the demo's tasks by id) on the tests' stack.

Both projects call their task package `tasks`, so a demo module cannot simply be imported here;
and a task belongs to the project whose discovered module defines it. So each bridge module
(`tasks.demo_agents`…) executes the demo's source file as its own body: the tasks it registers are
the demo's functions, defined in a module of this project. Private (leading `_`): discovery skips it.
"""

from __future__ import annotations

import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path

DEMO_TASKS = Path(__file__).resolve().parents[3] / "demo" / "tasks"


def include(module_name: str, demo_module: str) -> None:
    """Execute demo/tasks/<demo_module>.py in the namespace of the (importing) module `module_name`."""
    path = DEMO_TASKS / f"{demo_module}.py"
    SourceFileLoader(module_name, str(path)).exec_module(sys.modules[module_name])

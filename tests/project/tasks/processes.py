"""Tasks that report which process ran them, for warm-actor and fresh-process checks."""

from __future__ import annotations

import os

from tether import current_run, task


@task(id="which-process")
def which_process(payload: object) -> dict:
    ctx = current_run()
    return {"pid": os.getpid(), "zygote": os.getppid(), "queue": ctx.queue if ctx else None}


@task(id="fresh-process", max_runs_per_actor=1)
def fresh_process(payload: object) -> dict:
    return {"pid": os.getpid(), "zygote": os.getppid()}

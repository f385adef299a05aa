"""Starting the actor side: a local Ray (or a connection to a cluster) and the one Scheduler."""

from __future__ import annotations

import logging
import os
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from tether.actors.control import NAMESPACE, SCHEDULER_NAME
from tether.actors.scheduler import Scheduler

log = logging.getLogger("tether.actor")


def start_ray(
    address: str | None = None, *, num_cpus: int | None = None, project_root: str | None = None, env_vars: dict[str, str] | None = None
) -> None:
    """Connect to `address` (a running cluster), or start a local Ray sized for this machine.

    `env_vars` reach every worker process of this job on every node (the gateway's URL, for runs
    that call back into Tether), as does the project folder on PYTHONPATH.
    """
    if ray.is_initialized():
        return
    if project_root:
        env_vars = {**(env_vars or {}), "PYTHONPATH": os.pathsep.join(p for p in (project_root, os.environ.get("PYTHONPATH")) if p)}
    runtime_env: dict[str, Any] = {"env_vars": env_vars} if env_vars else {}
    kwargs: dict[str, Any] = {
        "namespace": NAMESPACE,
        "logging_level": logging.WARNING,
        "log_to_driver": True,
        "runtime_env": runtime_env or None,
    }
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, **kwargs)


def ensure_scheduler(database_url: str, settings: dict[str, Any] | None = None) -> Any:
    """The Scheduler actor, created if this cluster has none (detached: it outlives this process).

    It is placed on this process's node (the head, under `tether start` on a cluster) rather than
    wherever Ray likes: worker nodes come and go, and the Scheduler should not go with them.
    """
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
    handle = Scheduler.options(
        name=SCHEDULER_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True, scheduling_strategy=here
    ).remote(database_url, settings or {})
    ray.get(handle.ping.remote(), timeout=120)
    return handle


def stop_scheduler() -> None:
    try:
        ray.kill(ray.get_actor(SCHEDULER_NAME, namespace=NAMESPACE), no_restart=True)
    except ValueError:
        return
    from tether.actors.nodes import withdraw_from_autoscaler

    withdraw_from_autoscaler()  # what it asked the autoscaler for would otherwise outlive it

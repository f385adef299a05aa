"""A Ray cluster of several nodes on this one machine, with Tether's stack on its head, in a process of its own.

Ray's multi-node test utility (`ray.cluster_utils.Cluster`) starts a head and worker nodes as
separate raylets on one machine; `remove_node` kills a node's processes as a lost machine
would lose them. It runs in a child process so the test session's own Ray is untouched, and
the test drives it like an operator would: over a pipe (add a node, kill one, read what was
asked of the autoscaler) and over HTTP (the gateway on the head).

    with LocalCluster(database_url, workers={"a": {"num_cpus": 2}}) as cluster:
        cluster.http.post(...)
        cluster.kill_node("a")
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).parents[1] / "project"
PREFIX = "@@harness "
# Detect a lost node in about a second instead of Ray's default of about fifteen, so tests stay short.
FAST_HEALTH_CHECKS = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 300, "health_check_failure_threshold": 3}


class LocalCluster:
    """The test's end: start the harness process, send it commands, stop it (and everything it started)."""

    def __init__(
        self,
        database_url: str,
        workers: dict[str, dict[str, Any]],
        *,
        scheduler: dict[str, Any] | None = None,
        fast_health_checks: bool = True,
        project: Path = PROJECT,
        timeout: float = 180.0,
    ) -> None:
        self.key = f"tt_dev_{uuid.uuid4().hex}"
        config = {
            "database_url": database_url,
            "project": str(project),
            "workers": workers,
            "key": self.key,
            "scheduler": scheduler or {"lease": 6.0, "poll_interval": 0.5, "timeout_grace": 3.0, "idle_actor_timeout": 5.0},
            "system_config": FAST_HEALTH_CHECKS if fast_health_checks else {},
        }
        self.output: list[str] = []
        self._replies: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        # A Ray temp dir of its own: Ray records "the current cluster" there, and a plain `ray.init()`
        # elsewhere on this machine (the test session's, `tether dev`'s) must not find this one.
        self.temp_dir = tempfile.mkdtemp(prefix="tc", dir="/tmp")  # short: Ray's socket paths live under it
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_DEDUP_LOGS": "0", "RAY_TMPDIR": self.temp_dir}
        for inherited in ("RAY_ADDRESS", "TETHER_API_URL", "TETHER_SECRET_KEY"):  # the test session's, not this cluster's
            env.pop(inherited, None)
        self.process = subprocess.Popen(
            [sys.executable, __file__, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # so that closing kills the raylets it started too
        )
        threading.Thread(target=self._read, daemon=True).start()
        try:
            ready = self._reply(timeout)
        except BaseException:
            self.close()
            raise
        self.url: str = ready["url"]
        self.nodes: dict[str, str] = ready["nodes"]  # name -> Ray node id; the head is "head"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                if line.startswith(PREFIX):
                    self._replies.append(json.loads(line[len(PREFIX) :]))
                    self._lock.notify_all()
                else:
                    self.output.append(line)
        with self._lock:
            self._lock.notify_all()

    def _reply(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    tail = "".join(self.output[-60:])
                    raise RuntimeError(f"the cluster harness did not answer within {timeout}s (exit {self.process.poll()}):\n{tail}")
                self._lock.wait(min(left, 0.5))
            reply = self._replies.pop(0)
        if "error" in reply:
            raise RuntimeError(f"the cluster harness failed: {reply['error']}")
        return reply

    def command(self, op: str, timeout: float = 120.0, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        return self._reply(timeout)

    def add_node(self, name: str, **node_args: Any) -> str:
        node_id: str = self.command("add_node", name=name, node_args=node_args)["id"]
        self.nodes[name] = node_id
        return node_id

    def kill_node(self, name: str) -> float:
        """Kill a worker node's processes at once (no graceful shutdown); the moment it happened (time.time())."""
        return float(self.command("kill_node", name=name)["at"])

    def autoscaler_request(self) -> list[dict[str, float]]:
        """The bundles the Scheduler last asked of the autoscaler."""
        return list(self.command("autoscaler_request")["bundles"])

    def scheduler_stats(self) -> dict[str, Any]:
        return dict(self.command("scheduler_stats")["stats"])

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("stop", timeout=60)
            except Exception:
                pass
        try:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of its session: raylets, workers
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        finally:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the harness process ------------------------------------------------------------------------------------


def _say(**reply: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps(reply) + "\n")
    sys.stdout.flush()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kill_machine(cluster: Any, node: Any) -> None:
    """What a machine's loss does to its processes: every one dies at once. Ray's `remove_node` kills the
    processes it started (the raylet and its helpers); the workers the raylet started, and what they
    started (a RunActor's zygote and run process), are killed here in the same instant."""
    import psutil
    from ray._private import ray_constants

    doomed = []
    for info in node.all_processes.get(ray_constants.PROCESS_TYPE_RAYLET, []):
        try:
            raylet = psutil.Process(info.process.pid)
            doomed += [raylet, *raylet.children(recursive=True)]  # the raylet first: it reports no worker's death
        except psutil.NoSuchProcess:
            pass
    for process in doomed:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    cluster.remove_node(node, allow_graceful=False)


def main(config: dict[str, Any]) -> None:
    import logging

    import ray
    from ray.cluster_utils import Cluster

    logging.basicConfig(level=logging.WARNING)
    project = Path(config["project"])
    sys.path.insert(0, str(project))
    from tether.actors.boot import stop_scheduler
    from tether.actors.control import NAMESPACE, SCHEDULER_NAME
    from tether.cli.stack import Stack, StackSettings
    from tether.config import load_config

    # The head hosts the gateway and the Scheduler and no runs (0 CPUs), as the cluster configs set it up.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "_system_config": config["system_config"]})
    nodes: dict[str, Any] = {}
    stack = None
    try:
        for name, node_args in config["workers"].items():
            nodes[name] = cluster.add_node(**node_args)
        settings = StackSettings(
            database_url=config["database_url"],
            secret_key=config["key"],
            port=_free_port(),
            ray_address=cluster.address,
            scheduler=config["scheduler"],
        )
        stack = Stack(load_config(project), settings).start()
        ids = {"head": cluster.head_node.node_id, **{name: node.node_id for name, node in nodes.items()}}
        _say(url=stack.url, nodes=ids)
        for line in sys.stdin:
            request = json.loads(line)
            op = request["op"]
            try:
                if op == "stop":
                    break
                if op == "add_node":
                    nodes[request["name"]] = cluster.add_node(**request["node_args"])
                    _say(id=nodes[request["name"]].node_id)
                elif op == "kill_node":
                    at = time.time()
                    _kill_machine(cluster, nodes.pop(request["name"]))
                    _say(at=at)
                elif op == "autoscaler_request":
                    from ray._private.ray_constants import AUTOSCALER_RESOURCE_REQUEST_CHANNEL
                    from ray.experimental.internal_kv import _internal_kv_get

                    raw = _internal_kv_get(AUTOSCALER_RESOURCE_REQUEST_CHANNEL)
                    _say(bundles=json.loads(raw) if raw else [])
                elif op == "scheduler_stats":
                    scheduler = ray.get_actor(SCHEDULER_NAME, namespace=NAMESPACE)
                    _say(stats=ray.get(scheduler.stats.remote(), timeout=30))
                else:
                    _say(error=f"unknown op {op!r}")
            except Exception as exc:  # reported to the test, which fails with it
                _say(error=f"{op}: {type(exc).__name__}: {exc}")
    except Exception as exc:
        _say(error=f"start: {type(exc).__name__}: {exc}")
    finally:
        if stack is not None:
            stack.stop(shutdown_ray=False)
            stop_scheduler()
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
        _say(stopped=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))

"""Several Ray nodes on this machine: runs/s across one worker node vs two, and failover time.

    .venv/bin/python bench/cluster.py [--db sqlite|postgres] [--runs 300] [--spin-ms 50] [--kill-runs 4]

It starts Ray's multi-node test utility in a child process (tests/cluster/harness.py: a head
with 0 CPUs running the gateway and the Scheduler, plus worker nodes), with bench/project's
tasks, on a fresh store, and measures:

  1. throughput: `--runs` runs of `spin` (small-2x: 1 CPU each, `--spin-ms` of CPU work) and of
     `noop`, each set triggered in one `POST /api/v2/tasks/batch` and timed until all are
     COMPLETED (polled every 50 ms with a count by status in the store), first with one worker node of
     1 CPU, then with two. The spin runs are what a worker node adds capacity for; the noop runs
     are bounded by the Scheduler and the store, which live on the head.
  2. failover: three worker nodes of 2 CPUs; `--kill-runs` runs of `sleep-on-node` (10 s, 1 CPU)
     start, the node hosting the first is killed, and for each run that was there the time from the
     kill to its next attempt starting on the other node is taken from the run's attempts. Once
     with health checks tuned to detect a lost node in about a second, once with Ray's defaults.

Everything it starts is stopped at the end (the harness kills its whole process group).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from cluster.harness import LocalCluster  # noqa: E402  (the tests' multi-node harness)
from throughput import postgres_database, sqlite_database, wait_for_batch  # noqa: E402

PROJECT = HERE / "project"
BATCH_TIMEOUT = 900.0  # seconds a set of runs may take before the benchmark gives up


def _client(cluster: LocalCluster) -> httpx.Client:
    return httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {cluster.key}"}, timeout=60)


def _batch(http: httpx.Client, task: str, payloads: list[Any]) -> str:
    items = [{"task": task, "payload": p} for p in payloads]
    response = http.post("/api/v2/tasks/batch", json={"items": items})
    response.raise_for_status()
    return str(response.json()["id"])


def throughput(url: str, workers: int, args: argparse.Namespace) -> dict[str, float]:
    from tether.runtime.store.database import Store

    nodes = {f"w{i}": {"num_cpus": 1} for i in range(workers)}
    rates = {}
    store = Store(url)  # runs are counted straight from the store: the gateway stays out of the timing
    try:
        with LocalCluster(url, nodes, project=PROJECT, scheduler={"warm_actors": 2}) as cluster, _client(cluster) as http:
            # Warm-up: actors booted on every node.
            wait_for_batch(store, _batch(http, "spin", [{"ms": 1}] * 20), 20, time.perf_counter() + BATCH_TIMEOUT)
            for task, payload in (("spin", {"ms": args.spin_ms}), ("noop", None)):
                started = time.perf_counter()
                wait_for_batch(store, _batch(http, task, [payload] * args.runs), args.runs, started + BATCH_TIMEOUT)
                rates[task] = args.runs / (time.perf_counter() - started)
    finally:
        store.dispose()
    return rates


def _started(attempt: dict[str, Any]) -> float:
    return datetime.fromisoformat(attempt["startedAt"].replace("Z", "+00:00")).timestamp()


def failover(url: str, args: argparse.Namespace, fast: bool) -> list[float]:
    nodes = {"a": {"num_cpus": 2}, "b": {"num_cpus": 2}, "spare": {"num_cpus": 2}}  # room elsewhere for the lost runs
    with LocalCluster(url, nodes, project=PROJECT, fast_health_checks=fast) as cluster, _client(cluster) as http:
        ids = [http.post("/api/v1/tasks/sleep-on-node/trigger", json={"payload": {"seconds": 10}}).json()["id"] for _ in range(args.kill_runs)]
        deadline = time.monotonic() + 120
        while True:
            status = http.get("/api/v1/cluster").json()
            where = {r["id"]: n["id"] for n in status["nodes"] for r in n["runs"]}
            if all(i in where for i in ids) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if ids[0] not in where:
            raise TimeoutError("the runs did not all start within 120 s")
        victim = next(name for name, node in cluster.nodes.items() if node == where[ids[0]])
        on_victim = [i for i in ids if where.get(i) == cluster.nodes[victim]]
        killed_at = cluster.kill_node(victim)
        delays = []
        for run_id in on_victim:
            while True:
                run = http.get(f"/api/v3/runs/{run_id}").json()
                later = [a for a in run["attempts"] if a.get("startedAt") and _started(a) > killed_at]
                if later:
                    delays.append(_started(later[0]) - killed_at)
                    break
                if time.monotonic() > deadline + 120:
                    raise TimeoutError(f"{run_id} did not start again after its node was killed")
                time.sleep(0.1)
        return delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--spin-ms", type=int, default=50)
    parser.add_argument("--kill-runs", type=int, default=2)
    parser.add_argument("--skip", choices=["throughput", "failover"], help="leave one measurement out")
    args = parser.parse_args()
    database = sqlite_database if args.db == "sqlite" else postgres_database
    print(f"bench/cluster.py on {args.db}: {args.runs} runs per set, spin {args.spin_ms} ms of CPU each")
    for workers in (1, 2) if args.skip != "throughput" else ():
        with database() as url:
            rates = throughput(url, workers, args)
        print(f"  {workers} worker node(s) of 1 CPU: spin {rates['spin']:.1f} runs/s   noop {rates['noop']:.1f} runs/s")
    for fast in (True, False) if args.skip != "failover" else ():
        with database() as url:
            delays = failover(url, args, fast)
        label = "health checks ~1 s" if fast else "Ray's default health checks"
        print(
            f"  failover ({label}): {len(delays)} runs on the killed node started again elsewhere after "
            f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

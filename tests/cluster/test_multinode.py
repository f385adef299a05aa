"""Several Ray nodes on this machine (a head and workers with different resources), Tether on the head.

Each behaviour is checked as an operator would see it: over HTTP, with the runs' own records
of where they ran, while nodes are added and killed underneath.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cluster.harness import LocalCluster
from conftest import _postgres_database, eventually

pytestmark = pytest.mark.timeout(300)
WORKERS = {
    "plain": {"num_cpus": 2, "resources": {"plain": 4}},
    "accel": {"num_cpus": 2, "resources": {"accel": 1}},
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cluster') / 'tether.db'}"
    else:
        url = _postgres_database(f"tether_cluster_{uuid.uuid4().hex[:8]}")
    with LocalCluster(url, WORKERS) as running:
        yield running


@pytest.fixture
def http(cluster: LocalCluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {cluster.key}"}, timeout=30) as client:
        yield client


def trigger(http: httpx.Client, task: str, payload: dict[str, Any]) -> str:
    response = http.post(f"/api/v1/tasks/{task}/trigger", json={"payload": payload})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def run(http: httpx.Client, run_id: str) -> dict[str, Any]:
    response = http.get(f"/api/v3/runs/{run_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def finished(http: httpx.Client, run_id: str, timeout: float = 90) -> dict[str, Any]:
    return eventually(lambda: (r := run(http, run_id))["isCompleted"] and r, timeout=timeout, interval=0.3)


def where_runs_execute(http: httpx.Client) -> dict[str, str]:
    """run id -> the node it is executing on, from GET /api/v1/cluster."""
    status = http.get("/api/v1/cluster").json()
    return {r["id"]: node["id"] for node in status["nodes"] for r in node["runs"]}


def test_the_cluster_status_lists_the_head_and_the_workers_with_their_resources(cluster: LocalCluster, http: httpx.Client) -> None:
    status = http.get("/api/v1/cluster").json()
    by_id = {node["id"]: node for node in status["nodes"]}
    assert set(by_id) == {cluster.nodes["head"], cluster.nodes["plain"], cluster.nodes["accel"]}
    assert by_id[cluster.nodes["head"]]["isHead"] and not by_id[cluster.nodes["accel"]]["isHead"]
    assert by_id[cluster.nodes["accel"]]["resources"]["accel"] == 1
    assert "CPU" not in by_id[cluster.nodes["head"]]["resources"] or by_id[cluster.nodes["head"]]["resources"]["CPU"] == 0


def test_a_run_needing_a_resource_only_one_node_has_runs_on_that_node(cluster: LocalCluster, http: httpx.Client, tmp_path: Path) -> None:
    run_id = trigger(http, "on-accel", {"seconds": 1.5})
    seen = eventually(lambda: where_runs_execute(http).get(run_id), timeout=60, interval=0.2)
    assert seen == cluster.nodes["accel"]
    done = finished(http, run_id)
    assert done["status"] == "COMPLETED"
    assert done["output"] == {"node": cluster.nodes["accel"]}


def test_a_run_no_node_can_host_waits_queued_asks_the_autoscaler_and_runs_when_a_node_joins(cluster: LocalCluster, http: httpx.Client) -> None:
    run_id = trigger(http, "on-wide", {})
    wanted = eventually(lambda: [w for w in http.get("/api/v1/cluster").json()["waitingFor"] if w["resources"].get("wide")], timeout=30)
    assert wanted[0]["runs"] == 1 and wanted[0]["resources"]["CPU"] == 1
    asked = eventually(lambda: [b for b in cluster.autoscaler_request() if b.get("wide")], timeout=30)
    assert asked == [{"CPU": 1.0, "memory": 0.25 * 1024**3, "wide": 1.0}]
    time.sleep(2)  # several dispatch rounds: still waiting, not failed
    waiting = run(http, run_id)
    assert waiting["status"] == "QUEUED" and waiting["attempts"] == []
    wide = cluster.add_node("wide", num_cpus=1, resources={"wide": 1})
    done = finished(http, run_id)
    assert (done["status"], done.get("output")) == ("COMPLETED", {"node": wide}), done
    # Its actor idles past idle_actor_timeout (5 s here) and is retired: the request shrinks, so the node could go.
    eventually(lambda: not [b for b in cluster.autoscaler_request() if b.get("wide")] and "asked again without it", timeout=30)


def batch(http: httpx.Client, task: str, payloads: list[dict[str, Any]]) -> list[str]:
    response = http.post("/api/v2/tasks/batch", json={"items": [{"task": task, "payload": p} for p in payloads]})
    assert response.status_code == 200, response.text
    return [str(r["id"]) for r in response.json()["runs"]]


def test_runs_of_a_killed_worker_finish_on_another_node_exactly_once(cluster: LocalCluster, http: httpx.Client, tmp_path: Path) -> None:
    from tasks.records import read

    path = str(tmp_path / "steps.jsonl")
    doomed = cluster.add_node("doomed", num_cpus=2)  # CPU-only: the node CPU runs are placed on first
    eventually(lambda: doomed in {node["id"] for node in http.get("/api/v1/cluster").json()["nodes"]}, timeout=30)
    ids = batch(http, "node-steps", [{"n": n, "seconds": 5, "path": path} for n in range(4)])
    where = eventually(lambda: (w := where_runs_execute(http)) and all(i in w for i in ids) and w, timeout=60, interval=0.2)
    on_doomed = [i for i in ids if where[i] == doomed]
    assert on_doomed, where  # two of the four fit there
    # Killed once their first step is journalled there (recorded, then a moment for the journal's
    # commit): what must not happen again is that step.
    started_there = {ids.index(i) for i in on_doomed}
    eventually(lambda: started_there <= {line["run"] for line in read(path) if line["event"] == "start" and line["node"] == doomed}, timeout=30)
    time.sleep(0.5)

    probe = _Probe(http)
    with probe:
        cluster.kill_node("doomed")
        outcomes = [finished(http, i, timeout=120) for i in ids]
        after = finished(http, trigger(http, "echo", {"after": "a worker left"}))  # new runs still start
    assert [o["status"] for o in outcomes] == ["COMPLETED"] * 4 and after["status"] == "COMPLETED", [
        (o["status"], o.get("error"), [a["status"] for a in o["attempts"]]) for o in outcomes
    ]
    lines = read(path)
    for n, outcome in enumerate(outcomes):
        starts = [line for line in lines if line["event"] == "start" and line["run"] == n]
        finishes = [line for line in lines if line["event"] == "finish" and line["run"] == n]
        assert len(starts) == 1 and len(finishes) == 1, (n, lines)  # each step once, killed node or not
        assert outcome["output"]["finished_on"] != doomed
        if ids[n] in on_doomed:
            assert outcome["output"]["started_on"] == doomed  # journalled before the kill, not repeated
            assert [a["status"] for a in outcome["attempts"]][0] == "INTERRUPTED"  # the lost attempt is not counted against it
    assert probe.failures == [], probe.failures
    assert probe.slowest < 5.0, f"the gateway took {probe.slowest:.1f}s to answer while a worker died"
    stats = cluster.scheduler_stats()
    assert stats["nodes_lost"] >= 1 and stats["crashed"] == 0  # no attempt in this cluster's life was charged as a crash
    assert doomed not in {node["id"] for node in http.get("/api/v1/cluster").json()["nodes"]}


@pytest.mark.postgres
def test_a_node_found_dead_only_by_rays_default_health_checks_still_counts_as_lost(tmp_path: Path) -> None:
    """With Ray's defaults the actor is unreachable seconds before the node is declared dead (~15 s):
    the Scheduler waits for the verdict instead of charging the run a crash."""
    url = _postgres_database(f"tether_cluster_{uuid.uuid4().hex[:8]}")
    workers = {"one": {"num_cpus": 2}, "two": {"num_cpus": 2}}
    with LocalCluster(url, workers, fast_health_checks=False) as cluster, httpx.Client(
        base_url=cluster.url, headers={"Authorization": f"Bearer {cluster.key}"}, timeout=30
    ) as http:
        from tasks.records import read

        path = str(tmp_path / "steps.jsonl")
        run_id = trigger(http, "node-steps", {"n": 0, "seconds": 5, "path": path})
        node = eventually(lambda: where_runs_execute(http).get(run_id), timeout=60, interval=0.2)
        eventually(lambda: read(path), timeout=30)  # executing: its first step is done
        time.sleep(0.5)
        cluster.kill_node(next(name for name, node_id in cluster.nodes.items() if node_id == node))
        outcome = finished(http, run_id, timeout=120)
        assert outcome["status"] == "COMPLETED", outcome
        assert [a["status"] for a in outcome["attempts"]] == ["INTERRUPTED", "COMPLETED"], outcome
        assert outcome["output"]["started_on"] == node != outcome["output"]["finished_on"]
        assert cluster.scheduler_stats()["crashed"] == 0


class _Probe:
    """Reads and triggers through the gateway in a loop, noting failures and the slowest answer."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.failures: list[str] = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = self.http.get("/api/v1/runs", params={"limit": 5})
                if response.status_code != 200:
                    self.failures.append(f"list: {response.status_code} {response.text[:200]}")
                response = self.http.get("/api/v1/cluster")
                if response.status_code != 200:
                    self.failures.append(f"cluster: {response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self._stop.wait(0.2)

    def __enter__(self) -> _Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

"""End-to-end throughput and latency of the real stack (gateway + Scheduler + RunActors on Ray).

    .venv/bin/python bench/throughput.py [--db sqlite|postgres|both] [--runs 1000] [--repeat 3] [--latency-runs 200]

For each database it starts the whole stack exactly as `tether dev` does (`Stack(...).start()`:
migrations, the gateway on a free port, the detached Scheduler on one local Ray, shared by both
databases) on a fresh store — a SQLite file in a temp dir, or a PostgreSQL database
`tether_bench_<random>` that is dropped at the end — and measures, against the no-op task of
bench/project:

  1. throughput: one batch of `--runs` runs triggered with one `POST /api/v2/tasks/batch`, timed
     from just before the request until all are COMPLETED. Completion is polled every 50 ms with a
     direct `SELECT status, count(*) FROM runs WHERE batch_id = ? GROUP BY status` in the store
     (cheap, uses the batch_id index, keeps the gateway out of the measurement; a failed run stops
     the wait). "(db)" recomputes the rate to the batch's last `finished_at`, free of poll
     granularity. A warm-up batch (`--warmup`, 200) runs first so the actors are warm. The batch is
     measured `--repeat` times (3) and the median rate is reported, with every batch's rate: on a
     small VM one batch's rate varies by ±15% from run to run. CPU-seconds by process kind are
     sampled from /proc during the last batch (bench/cpu_usage.py).
  2. latency: `--latency-runs` sequential `POST /api/v1/tasks/noop/trigger`, each waited to
     COMPLETED before the next; trigger->EXECUTING is from just before the HTTP request to the run's
     `startedAt` as `GET /api/v3/runs/{id}` returns it (millisecond precision; the same machine's
     wall clock). The run's event log splits it: request->QUEUED row (gateway + insert),
     QUEUED->DEQUEUED (Scheduler wake-up and dispatch), DEQUEUED->EXECUTING (Ray call into the
     actor and begin_attempt), EXECUTING->COMPLETED.

Everything it starts (Ray, the gateway, the database) is stopped in `finally` blocks.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cpu_usage import CpuUsage  # noqa: E402  (bench/ is not a package)
PROJECT = HERE / "project"
POSTGRES_ADMIN_URL = os.environ.get("TETHER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_RUNS_PER_S = 200.0
TARGET_P50_MS = 25.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Result:
    db: str
    load_before: str = ""
    load_after: str = ""
    runs: int = 0
    warmup_s: float = 0.0
    post_s: float = 0.0  # the batch POST alone (validate + insert 1,000 rows)
    throughput_s: float = 0.0  # trigger -> all COMPLETED, as the poll saw it
    throughput_db_s: float = 0.0  # trigger -> last finished_at in the store
    rates: list[float] = field(default_factory=list)  # runs/s of every measured batch; the median is reported
    latencies_ms: list[float] = field(default_factory=list)
    stages_ms: dict[str, list[float]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    batch_profile: dict[str, float] = field(default_factory=dict)
    cpu: str = ""  # CPU-seconds by process kind during the measured batch
    error: str | None = None

    @property
    def runs_per_s(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0

    @property
    def runs_per_s_db(self) -> float:
        return self.runs / self.throughput_db_s if self.throughput_db_s else 0.0


# -- databases -------------------------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'tether.db'}"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"tether_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the measurements ------------------------------------------------------------------------------------


def batch_progress(store: Any, batch: str) -> tuple[int, int]:
    """(completed, ended unsuccessfully) of a batch, straight from the store."""
    from sqlalchemy import func, select

    from tether.runtime import runs
    from tether.runtime.states import UNSUCCESSFUL

    r = runs.runs_table.c
    with store.read() as conn:
        rows = dict(conn.execute(select(r.status, func.count()).where(r.batch_id == batch).group_by(r.status)).all())
    return rows.get("COMPLETED", 0), sum(n for s, n in rows.items() if s in UNSUCCESSFUL)


def wait_for_batch(store: Any, batch: str, count: int, deadline: float) -> None:
    """Poll the store every 50 ms until all `count` runs of the batch are COMPLETED; a run that ended
    unsuccessfully, or `deadline` (a `time.perf_counter()` instant) passing, raises."""
    while True:
        done, bad = batch_progress(store, batch)
        if done >= count:
            return
        if bad:
            raise RuntimeError(f"{bad} runs of batch {batch} ended unsuccessfully")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {done}/{count} runs of batch {batch} completed before the deadline")
        time.sleep(0.05)


class Bench:
    def __init__(self, stack: Any, args: argparse.Namespace) -> None:
        import httpx
        from sqlalchemy import func, select

        from tether.runtime import runs

        self.stack = stack
        self.args = args
        self.http = httpx.Client(
            base_url=stack.url, headers={"Authorization": f"Bearer {stack.settings.secret_key}"}, timeout=120
        )
        self._r = runs.runs_table.c
        self._select, self._func = select, func

    def close(self) -> None:
        self.http.close()

    def batch(self, count: int) -> tuple[float, float, float]:
        """Trigger `count` no-op runs in one request; return (post seconds, to-all-COMPLETED seconds, to last finished_at)."""
        self.last_batch = ""
        items = [{"task": "noop", "payload": {"i": i}} for i in range(count)]
        wall0 = time.time()
        t0 = time.perf_counter()
        response = self.http.post("/api/v2/tasks/batch", json={"items": items})
        post = time.perf_counter() - t0
        response.raise_for_status()
        batch = self.last_batch = response.json()["id"]
        wait_for_batch(self.stack.store, batch, count, t0 + self.args.timeout)
        elapsed = time.perf_counter() - t0
        r, select, func = self._r, self._select, self._func
        with self.stack.store.read() as conn:
            last = conn.execute(select(func.max(r.finished_at)).where(r.batch_id == batch)).scalar_one()
        return post, elapsed, _utc(last).timestamp() - wall0

    def batch_profile(self, batch: str) -> dict[str, float]:
        """From the batch's event log: runs per dispatch transaction, and mean time in each stage (ms)."""
        from tether.runtime.store.tables import RunEvent

        ev = RunEvent.__table__.c
        r, select = self._r, self._select
        moments: dict[str, dict[str, float]] = {}
        with self.stack.store.read() as conn:
            rows = conn.execute(
                select(ev.run_id, ev.status, ev.created_at).where(
                    ev.run_id.in_(select(r.id).where(r.batch_id == batch).scalar_subquery())
                )
            )
            for run_id, status, at in rows:
                moments.setdefault(run_id, {})[status] = _utc(at).timestamp()
        dequeues = [m["DEQUEUED"] for m in moments.values() if "DEQUEUED" in m]
        full = [m for m in moments.values() if {"QUEUED", "DEQUEUED", "EXECUTING", "COMPLETED"} <= m.keys()]
        out = {"runs per dispatch": len(dequeues) / max(1, len(set(dequeues)))}
        if full:
            out["dequeued->executing ms"] = statistics.fmean(m["EXECUTING"] - m["DEQUEUED"] for m in full) * 1000
            out["executing->completed ms"] = statistics.fmean(m["COMPLETED"] - m["EXECUTING"] for m in full) * 1000
        return out

    def latency(self, count: int) -> tuple[list[float], dict[str, list[float]]]:
        from tether.runtime.store.tables import RunEvent

        ev = RunEvent.__table__.c
        r, select = self._r, self._select
        latencies: list[float] = []
        stages: dict[str, list[float]] = {
            k: [] for k in ("http+insert", "queued->dequeued", "dequeued->executing", "executing->completed", "trigger HTTP")
        }
        for _ in range(count):
            wall0 = time.time()
            t0 = time.perf_counter()
            response = self.http.post("/api/v1/tasks/noop/trigger", json={"payload": {}})
            stages["trigger HTTP"].append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            run_id = response.json()["id"]
            deadline = t0 + 60
            while True:
                with self.stack.store.read() as conn:
                    status = conn.execute(select(r.status).where(r.id == run_id)).scalar_one()
                if status == "COMPLETED":
                    break
                if status in ("FAILED", "CRASHED", "SYSTEM_FAILURE", "CANCELED", "EXPIRED", "TIMED_OUT"):
                    raise RuntimeError(f"run {run_id} ended {status}")
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"run {run_id} not COMPLETED after 60s (status {status})")
                time.sleep(0.002)
            body = self.http.get(f"/api/v3/runs/{run_id}").json()
            started = _parse_iso(body["startedAt"]).timestamp()
            latencies.append((started - wall0) * 1000)
            with self.stack.store.read() as conn:
                moments = {
                    s: _utc(t).timestamp() for s, t in conn.execute(select(ev.status, ev.created_at).where(ev.run_id == run_id))
                }
            if {"QUEUED", "DEQUEUED", "EXECUTING", "COMPLETED"} <= moments.keys():
                stages["http+insert"].append((moments["QUEUED"] - wall0) * 1000)
                stages["queued->dequeued"].append((moments["DEQUEUED"] - moments["QUEUED"]) * 1000)
                stages["dequeued->executing"].append((moments["EXECUTING"] - moments["DEQUEUED"]) * 1000)
                stages["executing->completed"].append((moments["COMPLETED"] - moments["EXECUTING"]) * 1000)
        return latencies, stages


def measure(db: str, url: str, args: argparse.Namespace) -> Result:
    from tether.cli.stack import Stack, StackSettings
    from tether.config import load_config

    result = Result(db)
    settings = StackSettings(
        database_url=url,
        secret_key=f"tt_dev_{uuid.uuid4().hex}",
        port=free_port(),
        num_cpus=args.num_cpus,
        scheduler=dict(args.scheduler),
    )
    stack = Stack(load_config(PROJECT), settings)
    bench: Bench | None = None
    try:
        stack.start()
        bench = Bench(stack, args)
        t0 = time.perf_counter()
        bench.batch(args.warmup)
        result.warmup_s = time.perf_counter() - t0
        result.load_before = load()
        result.runs = args.runs
        for _ in range(args.repeat):
            with CpuUsage() as usage:
                result.post_s, result.throughput_s, result.throughput_db_s = bench.batch(args.runs)
            result.rates.append(args.runs / result.throughput_s)
        result.cpu = usage.summary()
        result.batch_profile = bench.batch_profile(bench.last_batch)
        result.latencies_ms, result.stages_ms = bench.latency(args.latency_runs)
        result.load_after = load()
        import ray

        result.stats = ray.get(stack.scheduler.stats.remote(), timeout=30)
    except Exception as exc:  # report it, still tear down and go on with the next database
        result.error = f"{type(exc).__name__}: {exc}"
        logging.getLogger("tether.bench").exception("%s: benchmark failed", db)
    finally:
        if bench is not None:
            bench.close()
        with contextlib.suppress(Exception):
            stack.stop(shutdown_ray=False)
        from tether.actors.boot import stop_scheduler

        with contextlib.suppress(Exception):
            stop_scheduler()
        _wait_scheduler_gone()
    return result


def _wait_scheduler_gone(timeout: float = 20.0) -> None:
    import ray

    from tether.actors.control import NAMESPACE, SCHEDULER_NAME

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ray.get_actor(SCHEDULER_NAME, namespace=NAMESPACE)
        except ValueError:
            return
        time.sleep(0.2)


# -- output --------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISS"


def report(results: list[Result], args: argparse.Namespace, command: str, load_at_start: str) -> None:
    print()
    print(f"command: {command}")
    print(f"load average (1/5/15 min) when the script started, before Ray: {load_at_start}; the bench itself adds ~2-4")
    print(
        f"machine: {os.cpu_count()} cores; Ray num_cpus={args.num_cpus or 'auto'}; "
        f"scheduler settings={args.scheduler or 'defaults'}; task noop (bench/project, max_runs_per_actor default)"
    )
    print("completion poll: direct SELECT count(*) ... WHERE batch_id=? GROUP BY status in the store, every 50 ms")
    print()
    header = (
        f"{'db':<9}{'runs/s':>8}{'(db)':>8}{'>=200':>7}{'POST s':>8}{'p50 ms':>8}{'p95 ms':>8}{'<=25':>6}"
        f"{'mean ms':>9}{'max ms':>9}  {'load 1/5/15 before / after measuring':<36}"
    )
    print(header)
    print("-" * len(header))
    for res in results:
        if res.error:
            print(f"{res.db:<9}  FAILED: {res.error}")
            continue
        lat = res.latencies_ms
        p50, p95 = percentile(lat, 50), percentile(lat, 95)
        print(
            f"{res.db:<9}{res.runs_per_s:>8.1f}{res.runs_per_s_db:>8.1f}{_verdict(res.runs_per_s >= TARGET_RUNS_PER_S):>7}"
            f"{res.post_s:>8.2f}{p50:>8.1f}{p95:>8.1f}{_verdict(p50 <= TARGET_P50_MS):>6}"
            f"{statistics.fmean(lat):>9.1f}{max(lat):>9.1f}  {res.load_before + ' / ' + res.load_after:<36}"
        )
    print()
    print(f"targets: >= {TARGET_RUNS_PER_S:.0f} runs/s, p50 trigger->EXECUTING <= {TARGET_P50_MS:.0f} ms")
    print(
        f"runs/s: median of {args.repeat} batches of {args.runs} runs / (POST start -> poll saw all COMPLETED); "
        "(db): the last batch / (POST start -> last finished_at)"
    )
    for res in results:
        if res.rates:
            print(f"  {res.db}: batches at " + ", ".join(f"{rate:.1f}" for rate in res.rates) + " runs/s")
    print(f"latency: {args.latency_runs} sequential triggers, request start -> startedAt (ms precision)")
    print()
    for res in results:
        if res.error or not res.stages_ms:
            continue
        print(f"{res.db}: latency by stage (from the run's event log), ms")
        print(f"  {'stage':<24}{'p50':>8}{'p95':>8}{'mean':>8}")
        for stage, values in res.stages_ms.items():
            if values:
                print(
                    f"  {stage:<24}{percentile(values, 50):>8.1f}{percentile(values, 95):>8.1f}{statistics.fmean(values):>8.1f}"
                )
        if res.batch_profile:
            print("  throughput batch: " + ", ".join(f"{k} {v:.1f}" for k, v in res.batch_profile.items()))
        if res.cpu:
            print(f"  throughput batch {res.cpu}")
        s = res.stats
        print(
            f"  scheduler: started={s.get('started')} actors live={s.get('actors')} "
            f"actors started={s.get('actors_started')} reused={s.get('actors_reused')}; warm-up batch of {args.warmup}: {res.warmup_s:.1f}s"
        )
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1000, help="runs in the measured batch (at most 1,000)")
    parser.add_argument("--warmup", type=int, default=200, help="runs in the warm-up batch")
    parser.add_argument("--repeat", type=int, default=3, help="measured batches; the median rate is reported")
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument(
        "--num-cpus", type=int, default=None, help="logical CPUs for the local Ray (default: this machine's, as `tether dev`)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for a batch")
    parser.add_argument(
        "--scheduler",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a SchedulerSettings field, e.g. warm_actors=4 (repeatable)",
    )
    args = parser.parse_args()
    args.scheduler = [(k, _number(v)) for k, _, v in (s.partition("=") for s in args.scheduler)]
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    load_at_start = load()
    # A plain `kill` (SIGTERM) must still run the finally blocks: stop Ray, drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(PROJECT))

    import ray

    from tether.actors.boot import start_ray

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: list[Result] = []
    try:
        start_ray(num_cpus=args.num_cpus, project_root=str(PROJECT))
        for db in dbs:
            print(f"== {db}: starting the stack (load {load()})", flush=True)
            try:
                with sqlite_database() if db == "sqlite" else postgres_database() as url:
                    results.append(measure(db, url, args))
            except Exception as exc:  # e.g. PostgreSQL unreachable
                results.append(Result(db, error=f"{type(exc).__name__}: {exc}"))
    finally:
        if ray.is_initialized():
            ray.shutdown()
    report(results, args, command, load_at_start)
    return 1 if any(r.error for r in results) else 0


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


if __name__ == "__main__":
    sys.exit(main())

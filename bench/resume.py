"""Waiting runs: how fast a completed token resumes its run, and what 1,000 waiting runs hold.

    .venv/bin/python bench/resume.py [--db sqlite|postgres|both] [--resumes 100] [--waiting 1000]

1. resume latency: `--resumes` times, one at a time, a run waits for a token (WAITING, its actor
   released); the token is completed with `POST /api/v1/waitpoints/tokens/{id}/complete`, timed from
   just before the request to the run's next EXECUTING event in its event log (same clock). Warm
   actors; the target is p50 <= 50 ms.
2. 1,000 waiting runs: `--waiting` runs are triggered and all reach WAITING; it prints the runs the
   Scheduler holds in flight (0 expected), the RunActors alive (the warm pool, none busy) and the
   resident memory of every Ray and run process, then completes every token and times the drain.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import on_each_database, running_stack  # noqa: E402
from throughput import _utc, percentile  # noqa: E402

TARGET_P50_MS = 50.0


def _rss_mb() -> dict[str, float]:
    """Resident memory (MB) of the Ray workers and run processes on this machine, by kind."""
    from cpu_usage import _kind  # the same process kinds the throughput bench reports

    out: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            kind = _kind((entry / "cmdline").read_bytes())
            rss = next(int(line.split()[1]) for line in (entry / "status").read_text().splitlines() if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
        if kind.startswith("ray::") or kind == "run processes":
            out[kind] = out.get(kind, 0.0) + rss / 1024
    return out


class Bench:
    def __init__(self, stack: Any) -> None:
        import httpx
        from sqlalchemy import select

        from tether.runtime import runs
        from tether.runtime.store.tables import RunEvent

        self.stack = stack
        self.http = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.settings.secret_key}"}, timeout=60)
        self._select, self._r, self._ev = select, runs.runs_table.c, RunEvent.__table__.c

    def status(self, run_id: str) -> str:
        with self.stack.store.read() as conn:
            return str(conn.execute(self._select(self._r.status).where(self._r.id == run_id)).scalar_one())

    def statuses(self, run_ids: list[str]) -> dict[str, int]:
        from sqlalchemy import func

        with self.stack.store.read() as conn:
            rows = conn.execute(self._select(self._r.status, func.count()).where(self._r.id.in_(run_ids)).group_by(self._r.status))
            return dict(rows.all())

    def until(self, check: Any, timeout: float = 120.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.005)

    def waiting_run(self) -> tuple[str, str]:
        token = self.http.post("/api/v1/waitpoints/tokens", json={}).json()["id"]
        run = self.http.post("/api/v1/tasks/await-token/trigger", json={"payload": {"token": token}}).json()["id"]
        return token, run

    def resume_latency(self) -> float:
        token, run = self.waiting_run()
        self.until(lambda: self.status(run) == "WAITING", what=f"{run} to wait")
        with self.stack.store.read() as conn:
            last = conn.execute(self._select(self._ev.seq).where(self._ev.run_id == run).order_by(self._ev.seq.desc()).limit(1)).scalar_one()
        wall0 = time.time()
        self.http.post(f"/api/v1/waitpoints/tokens/{token}/complete", json={"data": {"ok": 1}}).raise_for_status()

        def executing() -> Any:
            with self.stack.store.read() as conn:
                query = self._select(self._ev.created_at).where(self._ev.run_id == run, self._ev.seq > last, self._ev.status == "EXECUTING")
                return conn.execute(query).scalar()

        self.until(lambda: executing() is not None, what=f"{run} to resume")
        at = executing()
        self.until(lambda: self.status(run) == "COMPLETED", what=f"{run} to complete")
        return (_utc(at).timestamp() - wall0) * 1000

    def many_waiting(self, count: int) -> dict[str, Any]:
        import ray

        tokens = [self.http.post("/api/v1/waitpoints/tokens", json={}).json()["id"] for _ in range(count)]
        items = [{"task": "await-token", "payload": {"token": t}} for t in tokens]
        run_ids = [r["id"] for r in self.http.post("/api/v2/tasks/batch", json={"items": items}).json()["runs"]]
        t0 = time.perf_counter()
        self.until(lambda: self.statuses(run_ids).get("WAITING", 0) == count, timeout=600, what=f"{count} runs to wait")
        to_wait = time.perf_counter() - t0
        stats = ray.get(self.stack.scheduler.stats.remote(), timeout=30)
        memory = _rss_mb()
        t0 = time.perf_counter()
        for token in tokens:
            self.http.post(f"/api/v1/waitpoints/tokens/{token}/complete", json={"data": 1}).raise_for_status()
        self.until(lambda: self.statuses(run_ids).get("COMPLETED", 0) == count, timeout=600, what=f"{count} runs to finish")
        drain = time.perf_counter() - t0
        return {"to_wait_s": to_wait, "in_flight": stats["in_flight"], "actors": stats["actors"], "memory_mb": memory, "drain_s": drain}


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with running_stack(url) as stack:
        bench = Bench(stack)
        bench.resume_latency()  # warm-up
        latencies = [bench.resume_latency() for _ in range(args.resumes)]
        many = bench.many_waiting(args.waiting) if args.waiting else {}
        return {"latencies": latencies, **many}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--resumes", type=int, default=100)
    parser.add_argument("--waiting", type=int, default=1000)
    args = parser.parse_args()
    results = [(db, measure(url, args)) for db, url in on_each_database(args.db)]
    print(f"\ntoken completed over HTTP -> run EXECUTING again, {args.resumes} resumes; target p50 <= {TARGET_P50_MS:g} ms")
    for db, r in results:
        lat = r["latencies"]
        print(f"{db:<10} p50 {percentile(lat, 50):6.1f} ms   p95 {percentile(lat, 95):6.1f} ms   max {max(lat):6.1f} ms")
        if "in_flight" in r:
            memory = ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(r["memory_mb"].items()))
            print(
                f"{'':<10} {args.waiting} WAITING runs: reached in {r['to_wait_s']:.1f}s; runs in flight {r['in_flight']}, "
                f"RunActors alive {r['actors']} (the idle warm pool); resident memory: {memory}; all resumed and done in {r['drain_s']:.1f}s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

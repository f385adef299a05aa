"""Schedules: what 10,000 registered schedules cost the Scheduler between their instants, and how
soon runs start when 1,000 schedules share one instant.

    .venv/bin/python bench/schedules.py [--db sqlite|postgres|both] [--idle 10000] [--shared 1000] [--window 20]

1. idle cost: the Scheduler's resident memory and CPU over `--window` seconds with no schedule,
   then again once `--idle` schedules are registered over HTTP (daily, at times outside the
   benchmark's hour, so none fires meanwhile). The target is "nothing": the Scheduler reads one
   indexed minimum per poll, however many schedules there are.
2. one shared instant: `--shared` more schedules fire at the same minute (at least 70 s ahead, so
   all of them are in before it). Each run's delay is the time from the scheduled instant to its
   first EXECUTING event (the same clock); p50 and p95, and when all the runs were in the store
   (polled every 50 ms).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import on_each_database, running_stack  # noqa: E402
from throughput import _utc, percentile  # noqa: E402

TASK = "scheduled-noop"


def _process(pid: int) -> tuple[float, float]:
    """(CPU-seconds used so far, resident MB) of a process."""
    from cpu_usage import _TICK

    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return (int(stat[11]) + int(stat[12])) / _TICK, rss / 1024


def idle_cost(pid: int, window: float) -> dict[str, float]:
    cpu0, _ = _process(pid)
    time.sleep(window)
    cpu1, rss = _process(pid)
    return {"cpu_pct": 100 * (cpu1 - cpu0) / window, "rss_mb": rss}


def register(http: Any, count: int, cron_for: Any) -> float:
    """Create `count` schedules over HTTP; the rate, per second."""
    t0 = time.perf_counter()
    for i in range(count):
        body = {"task": TASK, "cron": cron_for(i), "externalId": f"tenant_{i}", "deduplicationKey": f"bench-{cron_for(i)}-{i}"}
        http.post("/api/v1/schedules", json=body).raise_for_status()
    return count / (time.perf_counter() - t0)


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import ray
    from sqlalchemy import func, select

    from tether.runtime.store.tables import RunEvent, RunRow

    with running_stack(url) as stack:
        http = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.settings.secret_key}"}, timeout=60)
        pid = int(ray.get(stack.scheduler.pid.remote(), timeout=30))
        time.sleep(3)  # the warm pool settles
        out: dict[str, Any] = {"empty": idle_cost(pid, args.window)}

        quiet = {datetime.now(UTC).hour, (datetime.now(UTC).hour + 1) % 24}
        hours = [h for h in range(24) if h not in quiet]
        rng = random.Random(7)
        daily = [f"{rng.randrange(60)} {rng.choice(hours)} * * *" for _ in range(args.idle)]
        out["register_per_s"] = register(http, args.idle, lambda i: daily[i])
        out["loaded"] = idle_cost(pid, args.window)

        instant = (datetime.now(UTC) + timedelta(seconds=70 + args.shared / 100)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        register(http, args.shared, lambda i: f"{instant.minute} {instant.hour} * * *")
        time.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds() - 1))
        cpu0, _ = _process(pid)  # from a second before the instant
        r, ev = RunRow.__table__.c, RunEvent.__table__.c
        deadline = time.monotonic() + (instant - datetime.now(UTC)).total_seconds() + 600
        all_written: datetime | None = None
        started: list[Any] = []
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(started)} of {args.shared} scheduled runs started")
            with stack.store.read() as conn:
                if all_written is None and conn.execute(select(func.count()).where(r.schedule_instant == instant)).scalar() >= args.shared:
                    all_written = datetime.now(UTC)
                if all_written is None:
                    time.sleep(0.05)
                    continue
                started = conn.execute(
                    select(func.min(ev.created_at)).join(RunRow.__table__, r.id == ev.run_id)
                    .where(r.schedule_instant == instant, ev.status == "EXECUTING").group_by(ev.run_id)
                ).scalars().all()
            if len(started) >= args.shared:
                break
            time.sleep(0.5)
        cpu1, _ = _process(pid)
        with stack.store.read() as conn:
            count = conn.execute(select(func.count()).where(r.schedule_instant == instant)).scalar()
        out["delays"] = [(_utc(at) - instant).total_seconds() * 1000 for at in started]
        out["written_s"] = ((all_written or datetime.now(UTC)) - instant).total_seconds()
        out["fired"] = count
        out["firing_cpu_s"] = cpu1 - cpu0
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--shared", type=int, default=1000)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    results = [(db, measure(url, args)) for db, url in on_each_database(args.db)]
    print(f"\nScheduler between instants ({args.window:g} s windows): no schedules vs {args.idle:,} registered")
    for db, r in results:
        e, loaded = r["empty"], r["loaded"]
        print(
            f"{db:<10} CPU {e['cpu_pct']:.2f}% -> {loaded['cpu_pct']:.2f}%   RSS {e['rss_mb']:.0f} MB -> {loaded['rss_mb']:.0f} MB"
            f"   (registered at {r['register_per_s']:.0f}/s over HTTP)"
        )
    print(f"\n{args.shared:,} schedules sharing one instant: delay from the instant to the run EXECUTING")
    for db, r in results:
        d = r["delays"]
        print(
            f"{db:<10} p50 {percentile(d, 50) / 1000:6.2f} s   p95 {percentile(d, 95) / 1000:6.2f} s   first {min(d) / 1000:5.2f} s"
            f"   all {r['fired']} runs in the store {r['written_s']:.2f} s after the instant; Scheduler CPU {r['firing_cpu_s']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

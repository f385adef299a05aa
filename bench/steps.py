"""What one journalled step costs: p50/p95 of `step.run` of a no-op over 1,000 steps in one run.

    .venv/bin/python bench/steps.py [--db sqlite|postgres|both] [--steps 1000]

Each step writes one journal row (one commit) before it returns, so on PostgreSQL a step costs at
least one round trip and a commit that waits for the disk: the target is p50 <= 2 ms there. The
run is triggered over HTTP against the whole stack, as bench/throughput.py starts it; the task
(bench/project/tasks/steps.py) times every call and returns the durations.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import on_each_database, running_stack  # noqa: E402
from throughput import percentile  # noqa: E402

TARGET_P50_MS = 2.0


def measure(url: str, steps: int) -> list[float]:
    import httpx

    with running_stack(url) as stack:
        headers = {"Authorization": f"Bearer {stack.settings.secret_key}"}
        with httpx.Client(base_url=stack.url, headers=headers, timeout=60) as http:
            run_id = http.post("/api/v1/tasks/many-steps/trigger", json={"payload": {"steps": steps}}).json()["id"]
            deadline = time.monotonic() + 600
            while True:
                run = http.get(f"/api/v3/runs/{run_id}").json()
                if run["isCompleted"]:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"run {run_id} still {run['status']}")
                time.sleep(0.2)
            if run["status"] != "COMPLETED":
                raise RuntimeError(f"run {run_id} ended {run['status']}: {run.get('error')}")
            return list(run["output"]["ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    for db, url in on_each_database(args.db):
        ms = measure(url, args.steps)
        rows.append((db, percentile(ms, 50), percentile(ms, 95), max(ms)))
    print(f"\n{args.steps} no-op steps in one run; target p50 <= {TARGET_P50_MS:g} ms on PostgreSQL")
    print(f"{'db':<10}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    for db, p50, p95, worst in rows:
        print(f"{db:<10}{p50:>8.2f}{p95:>8.2f}{worst:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU-seconds used by each kind of process on this machine while a block runs (Linux /proc).

Processes are sampled every 100 ms so that short-lived ones (recycled RunActors) are counted up
to their last sample; a process's kind is its Ray actor class, or its program name.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _kind(cmdline: bytes) -> str:
    text = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    if text.startswith("ray::"):
        return text.split()[0].split(".")[0]
    if "postgres" in text:
        return "postgres"
    if "tether.actors.zygote" in text:
        return "run processes"  # the zygotes and the run processes forked from them
    if "throughput.py" in text:
        return "bench + gateway"
    if "default_worker.py" in text:
        return "ray worker (booting)"
    program = Path(text.split()[0]).name if text else "?"
    return program


def _snapshot() -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        out[int(entry.name)] = (_kind(cmdline), (int(stat[11]) + int(stat[12])) / _TICK)
    return out


class CpuUsage:
    """`with CpuUsage() as usage: ...` then `usage.by_kind` (CPU-seconds) and `usage.wall`."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.by_kind: Counter[str] = Counter()
        self.processes: Counter[str] = Counter()
        self.wall = 0.0
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> CpuUsage:
        self._t0 = time.perf_counter()
        self._first = _snapshot()
        self._last = dict(self._first)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            for pid, seen in _snapshot().items():
                self._last[pid] = seen  # a Ray worker takes its actor's name once the actor is created
                self._first.setdefault(pid, (seen[0], 0.0))  # born during the block: count all of it

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_once()
        self.wall = time.perf_counter() - self._t0
        for pid, (kind, cpu) in self._last.items():
            used = cpu - self._first[pid][1]
            if used > 0:
                self.by_kind[kind] += used
                self.processes[kind] += 1

    def _sample_once(self) -> None:
        for pid, seen in _snapshot().items():
            if pid in self._last:
                self._last[pid] = seen

    def summary(self, top: int = 8) -> str:
        total = sum(self.by_kind.values())
        parts = [f"{kind} {cpu:.1f}s ({self.processes[kind]})" for kind, cpu in self.by_kind.most_common(top)]
        return f"CPU {total:.1f}s in {self.wall:.1f}s wall: " + ", ".join(parts)

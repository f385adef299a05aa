"""`tether status`: the cluster's nodes, the runs executing on each, and the queues, from the gateway."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table

_GIB = 1024**3


def _amount(name: str, value: float) -> str:
    if name == "memory":
        return f"{value / _GIB:.1f}G"
    return f"{value:g}"


def _resources(node: dict[str, Any]) -> str:
    total, used = node["resources"], node["used"]
    shown = ["CPU", "GPU", "memory"] + sorted(k for k in total if k not in ("CPU", "GPU", "memory") and not k.startswith("accelerator_type"))
    return "  ".join(f"{name} {_amount(name, used.get(name, 0.0))}/{_amount(name, total[name])}" for name in shown if total.get(name))


def nodes_table(status: dict[str, Any]) -> Table:
    table = Table(title="Nodes", title_justify="left")
    for column in ("node", "address", "role", "used / total", "actors", "runs"):
        table.add_column(column, no_wrap=column != "used / total")
    for node in status["nodes"]:
        runs = len(node["runs"]) + node.get("otherRuns", 0)
        table.add_row(
            node["id"][:12],
            node["address"],
            "head" if node["isHead"] else "worker",
            _resources(node) or "-",
            f"{node['actors']} ({node['idleActors']} idle)",
            str(runs),
        )
    return table


def runs_table(status: dict[str, Any]) -> Table | None:
    rows = [(node["id"][:12], run) for node in status["nodes"] for run in node["runs"]]
    if not rows:
        return None
    table = Table(title="Executing", title_justify="left")
    for column in ("node", "run", "task", "machine", "for"):
        table.add_column(column, no_wrap=True)
    for node, run in rows:
        table.add_row(node, run["id"], run["task"], run["machine"], f"{run['seconds']:g}s")
    return table


def waiting_table(status: dict[str, Any]) -> Table | None:
    if not status.get("waitingFor"):
        return None
    table = Table(title="Queued runs no node can host now (asked of the autoscaler)", title_justify="left")
    for column in ("machine", "resources", "runs"):
        table.add_column(column, no_wrap=True)
    for want in status["waitingFor"]:
        resources = "  ".join(f"{name} {_amount(name, value)}" for name, value in sorted(want["resources"].items()))
        table.add_row(want["machine"], resources, str(want["runs"]))
    return table


def queues_table(queues: list[Any]) -> Table:
    table = Table(title="Queues", title_justify="left")
    for column in ("queue", "running", "queued", "limit", "paused"):
        table.add_column(column, no_wrap=True)
    for queue in sorted(queues, key=lambda q: (-q.running, -q.queued, q.name)):
        limit = "-" if queue.concurrency_limit is None else str(queue.concurrency_limit)
        table.add_row(queue.name, str(queue.running), str(queue.queued), limit, "yes" if queue.paused else "")
    return table


def show(console: Console) -> None:
    from tether import _calls, queues
    from tether.client import send

    status = send(_calls.cluster_status())
    parts = [nodes_table(status), runs_table(status), waiting_table(status), queues_table(queues.list())]
    console.print(Group(*[p for p in parts if p is not None]))

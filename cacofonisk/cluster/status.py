"""What ``cacofonisk cluster status`` shows: who follows which server, since
when, with what lag.

Why from the lease bucket: each owner writes its follower's figures into the
lease value on every renew (connected, lag from the AMI Timestamp, age of
the last event), so any machine that reaches NATS can answer without
asking the workers. The figures are at most one round (``ttl / 4``) old.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .leases import ClusterView


def status_rows(view: ClusterView, servers: Iterable[str] = (),
                now: float | None = None) -> list[dict[str, Any]]:
    """One row per server (leased ones, plus ``servers`` nobody follows)."""
    now = time.time() if now is None else now
    rows: list[dict[str, Any]] = []
    names = sorted(set(view.leases) | set(servers))
    for name in names:
        entry = view.leases.get(name)
        if entry is None:
            rows.append({"server": name, "worker": None, "since": None, "for": None,
                         "connected": False, "lag": None, "last_event_age": None,
                         "lease": None})
            continue
        value = entry.value
        since = value.get("since")
        rows.append({
            "server": name, "worker": value.get("worker"), "since": since,
            "for": None if not isinstance(since, (int, float)) else max(now - since, 0.0),
            "connected": bool(value.get("connected")), "lag": value.get("lag"),
            "last_event_age": value.get("last_event_age"),
            "lease": value.get("lease", entry.revision),
        })
    return rows


def _seconds(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.3f}s"


def format_status(view: ClusterView, servers: Iterable[str] = (),
                  now: float | None = None) -> str:
    """A plain-text table of the servers, then the live workers."""
    rows = status_rows(view, servers, now)
    lines = [f"{'SERVER':<20} {'WORKER':<24} {'SINCE':<20} {'STATE':<9} {'LAG':>9} "
             f"{'LAST EVENT':>11}"]
    for row in rows:
        since = ("-" if row["since"] is None else
                 time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["since"])))
        state = ("UNFOLLOWED" if row["worker"] is None else
                 "up" if row["connected"] else "connecting")
        lines.append(f"{row['server']:<20} {row['worker'] or '-':<24} {since:<20} "
                     f"{state:<9} {_seconds(row['lag']):>9} "
                     f"{_seconds(row['last_event_age']):>11}")
    counts: dict[str, int] = {}
    for row in rows:
        if row["worker"]:
            counts[row["worker"]] = counts.get(row["worker"], 0) + 1
    lines.append("")
    lines.append(f"{len(view.workers)} live worker(s):")
    for worker in sorted(view.workers):
        lines.append(f"  {worker}: {counts.get(worker, 0)} server(s)")
    return "\n".join(lines)


__all__ = ["format_status", "status_rows"]

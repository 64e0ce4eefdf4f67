"""Counters of the web adapter and their Prometheus text exposition (``GET /metrics``).

Why our own few lines instead of prometheus_client: the figures are a
handful of counters and gauges that already exist (the runner's
``health()``, the feed's counts), and the text format is simple and stable
(Prometheus exposition format 0.0.4); one more dependency would buy nothing.

The metric names are documented in ``docs/live-view.md``; a name, once
published, is a contract for dashboards: add new ones, never rename.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

#: the Content-Type of the Prometheus text format
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: seconds over which ``cacofonisk_ami_events_per_second`` is averaged
RATE_WINDOW = 10.0


class Counters:
    """What the web reporter counts as events pass (adapter code: it may read
    the monotonic clock, the pure core never does).

    Attributes:
        ami_events: AMI events the managers applied (``on_event``).
        call_events: call events by (server, hook).
        hook_errors: reporter hooks that raised (counted by ``CountingReporter``).
    """

    def __init__(self) -> None:
        self.ami_events = 0
        self.call_events: dict[tuple[str, str], int] = {}
        self.hook_errors = 0
        self._ticks: deque[tuple[float, int]] = deque()

    def count_ami_event(self, now: float | None = None) -> None:
        """One more AMI event; keeps one tick per tenth of a second for the rate."""
        self.ami_events += 1
        stamp = round(time.monotonic() if now is None else now, 1)
        ticks = self._ticks
        if ticks and ticks[-1][0] == stamp:
            ticks[-1] = (stamp, ticks[-1][1] + 1)
        else:
            ticks.append((stamp, 1))
            while ticks and ticks[0][0] < stamp - RATE_WINDOW:
                ticks.popleft()

    def count_call_event(self, server: str, hook: str) -> None:
        """One more call event of ``hook`` from ``server``."""
        key = (server, hook)
        self.call_events[key] = self.call_events.get(key, 0) + 1

    def events_per_second(self, now: float | None = None) -> float:
        """AMI events per second over the last ``RATE_WINDOW`` seconds."""
        now = time.monotonic() if now is None else now
        recent = sum(count for stamp, count in self._ticks if stamp > now - RATE_WINDOW)
        return recent / RATE_WINDOW


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class Exposition:
    """Builds one Prometheus text page: HELP and TYPE once per metric."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[Mapping[str, str], float | None]]) -> None:
        """Add a metric; samples whose value is None (unknown) are left out."""
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            if value is not None:
                self._lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        """The page, newline-terminated as the format requires."""
        return "\n".join(self._lines) + "\n"


def render(counters: Counters, health: Mapping[str, Mapping[str, Any]],
           calls_in_flight: Mapping[str, int], sse: Mapping[str, int]) -> str:
    """The whole ``/metrics`` page.

    Args:
        counters: the web reporter's counters.
        health: the runner's ``health()`` (per server; may be empty).
        calls_in_flight: calls per server in the current snapshot.
        sse: ``clients``, ``dropped_total``, ``buffered``, ``last_id`` of the feed.
    """
    page = Exposition()
    page.metric("cacofonisk_ami_events_total", "counter",
                "AMI events applied by the channel managers.", [({}, counters.ami_events)])
    page.metric("cacofonisk_ami_events_per_second", "gauge",
                f"AMI events per second over the last {RATE_WINDOW:g} s.",
                [({}, round(counters.events_per_second(), 3))])
    page.metric("cacofonisk_call_events_total", "counter",
                "Call events reported, by server and hook.",
                [({"server": server, "event": hook}, count)
                 for (server, hook), count in sorted(counters.call_events.items())])
    servers = sorted(set(health) | set(calls_in_flight))
    page.metric("cacofonisk_calls_in_flight", "gauge", "Calls in flight now, by server.",
                [({"server": s}, calls_in_flight.get(s, 0)) for s in servers])
    page.metric("cacofonisk_ami_connected", "gauge",
                "1 while the AMI connection to the server is up.",
                [({"server": s}, _flag(health.get(s, {}).get("connected")))
                 for s in sorted(health)])
    page.metric("cacofonisk_ami_lag_seconds", "gauge",
                "Receive time minus the AMI Timestamp of the last event (needs "
                "timestampevents=yes).", [({"server": s}, health[s].get("lag"))
                                          for s in sorted(health)])
    page.metric("cacofonisk_ami_last_event_age_seconds", "gauge",
                "Seconds since the last AMI event from the server.",
                [({"server": s}, health[s].get("last_event_age")) for s in sorted(health)])
    page.metric("cacofonisk_ami_reconnects_total", "counter",
                "Reconnects to the server since start.",
                [({"server": s}, health[s].get("reconnects")) for s in sorted(health)])
    runner_errors = sum(int(f.get("hook_errors") or 0) for f in health.values())
    page.metric("cacofonisk_hook_errors_total", "counter",
                "Reporter hooks that raised (the event went on to the other reporters).",
                [({}, counters.hook_errors + runner_errors)])
    page.metric("cacofonisk_sse_clients", "gauge", "Event-stream clients connected now.",
                [({}, sse.get("clients", 0))])
    page.metric("cacofonisk_sse_clients_dropped_total", "counter",
                "Event-stream clients cut off because they fell too far behind.",
                [({}, sse.get("dropped_total", 0))])
    page.metric("cacofonisk_sse_buffered_events", "gauge",
                "Call events kept for resuming event-stream clients.",
                [({}, sse.get("buffered", 0))])
    page.metric("cacofonisk_sse_last_event_id", "counter",
                "Sequence number of the last call event published.",
                [({}, sse.get("last_id", 0))])
    return page.text()


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))

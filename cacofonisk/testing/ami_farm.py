"""Several live-like Asterisk servers for cluster tests, demos and benchmarks.

    python -m cacofonisk.testing.ami_farm --servers 6 --calls 40 --rate 40 \\
        --config /tmp/servers.toml

Why: a cluster shares many servers among workers, and a real Asterisk keeps
going while nobody listens. Each server here is an ``AmiTestServer``
replaying its own log of overlapping calls (``call_log``: distinct ids per
server, several calls in flight), with the AMI Timestamp of the moment it
is sent; while no client is connected the log still advances at the same
rate (``skip``), so calls begin and end during a failover gap, and
``CoreShowChannels`` answers for the point reached, as Asterisk would.

Prints ``ready`` once every server listens (the ``--config`` file, a
``listen --config`` servers.toml, is written first), then ``finished NAME``
as each log is fully played; runs until SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .ami_server import AmiTestServer

USERNAME, SECRET = "cluster", "cluster-secret"


def call_log(server: str, calls: int, in_flight: int) -> list[dict[str, str]]:
    """``calls`` answered calls of one server, ``in_flight`` of them at once.

    The calls are interleaved one event at a time (a round gives each call
    in flight its next event), so each call lasts about ``in_flight`` times
    its own 16 events; ids are unique per server. Calls start
    ``16 / in_flight`` rounds apart, so they also end apart, as on a real
    server: started together they would end together, in waves with no
    channel in between, and a failover gap could fall between two waves and
    see no call end.
    """
    from ..commands.demo import answered_call

    pending = [answered_call(n, caller=(f"2{n % 90 + 10}", f"Caller {n}"),
                             callee=(f"3{n % 90 + 10}", f"Callee {n}"), system=server)
               for n in range(calls)]
    pending.reverse()
    stagger = max(1, len(pending[-1]) // max(1, in_flight)) if pending else 1
    active: list[list[dict[str, str]]] = []
    out: list[dict[str, str]] = []
    since_start = stagger  # rounds since the last call started
    while pending or active:
        if pending and len(active) < in_flight and (since_start >= stagger or not active):
            active.append(pending.pop())
            since_start = 0
        since_start += 1
        for events in list(active):
            out.append({k: v for k, v in events.pop(0).items() if k != "SystemName"})
            if not events:
                active.remove(events)
    return out


class _Clock:
    """Keeps one server's log going at ``rate`` while no client is connected.

    ``position`` is how far the log got: the test server counts it per user
    once someone logged in (``sent``, skips included); before that, the
    skips made here.
    """

    def __init__(self, srv: AmiTestServer, rate: float) -> None:
        self.srv = srv
        self.rate = rate
        self.skipped = 0

    @property
    def position(self) -> int:
        return self.srv.sent if self.srv.logins else self.skipped

    async def run(self) -> None:
        srv = self.srv
        while self.position < len(srv.events):
            await asyncio.sleep(1.0 / self.rate)
            if srv.clients == 0:
                srv.skip(1, USERNAME)
                self.skipped += 1

    async def report_finished(self, name: str) -> None:
        while self.position < len(self.srv.events):
            await asyncio.sleep(0.1)
        print(f"finished {name}", flush=True)


def servers_toml(farm: Sequence[tuple[str, AmiTestServer]]) -> str:
    """A ``listen --config`` file for the farm (test secrets, inline)."""
    lines = []
    for name, srv in farm:
        lines += [f"[servers.{name}]", f'host = "{srv.host}"', f"port = {srv.port}",
                  f'username = "{USERNAME}"', f'password = "{SECRET}"', ""]
    lines += ["[runner]", "ping_interval = 1", "ping_timeout = 1", "reconnect_delay = 0.2",
              "reconnect_max_delay = 1", "action_timeout = 2", ""]
    return "\n".join(lines)


async def serve(count: int, calls: int, in_flight: int, rate: float, config: Path,
                logs: Mapping[str, list[dict[str, str]]] | None = None) -> None:
    """Run the farm until cancelled (see the module docstring)."""
    farm: list[tuple[str, AmiTestServer]] = []
    tasks: list[asyncio.Task[Any]] = []
    try:
        for i in range(count):
            name = f"pbx{i + 1}"
            events = (logs or {}).get(name) or call_log(name, calls, in_flight)
            srv = AmiTestServer(events, username=USERNAME, secret=SECRET, rate=rate,
                                restamp=True)
            await srv.start()
            farm.append((name, srv))
        config.write_text(servers_toml(farm), encoding="utf-8")
        for name, srv in farm:
            clock = _Clock(srv, rate)
            tasks.append(asyncio.create_task(clock.run()))
            tasks.append(asyncio.create_task(clock.report_finished(name)))
        print(f"ready {time.time():.3f}", flush=True)
        await asyncio.Event().wait()
    finally:
        for task in tasks:
            task.cancel()
        for _, srv in farm:
            await srv.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the farm."""
    parser = argparse.ArgumentParser(prog="python -m cacofonisk.testing.ami_farm")
    parser.add_argument("--servers", type=int, default=6)
    parser.add_argument("--calls", type=int, default=40, help="calls per server")
    parser.add_argument("--in-flight", type=int, default=8, help="calls at once per server")
    parser.add_argument("--rate", type=float, default=40.0, help="events/s per server")
    parser.add_argument("--config", type=Path, required=True,
                        help="write the servers.toml for listen --config here")
    args = parser.parse_args(argv)

    async def run() -> None:
        task = asyncio.create_task(serve(args.servers, args.calls, args.in_flight,
                                         args.rate, args.config))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

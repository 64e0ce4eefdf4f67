"""Real processes for the cluster tests: NATS nodes, the AMI farm, workers.

Kept apart from the test module so the failover test reads as its story,
and so bench/cluster.py can drive the same processes.
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cacofonisk.cluster.leases import ClusterView, LeaseStore

PYTHON = sys.executable
BUCKET = "cacofonisk"


class Farm:
    """``python -m cacofonisk.testing.ami_farm`` in its own process."""

    def __init__(self, directory: Path, servers: int, calls: int, in_flight: int,
                 rate: float) -> None:
        self.config = directory / "servers.toml"
        self.names = [f"pbx{i + 1}" for i in range(servers)]
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "cacofonisk.testing.ami_farm", "--servers", str(servers),
             "--calls", str(calls), "--in-flight", str(in_flight), "--rate", str(rate),
             "--config", str(self.config)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"AMI farm did not start: {line!r}")
        self.finished: set[str] = set()
        os.set_blocking(self.proc.stdout.fileno(), False)

    def poll_finished(self) -> set[str]:
        """Servers whose whole log was played (read from the farm's stdout)."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return self.finished
            if line.startswith("finished "):
                self.finished.add(line.split()[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Worker:
    """``cacofonisk listen --cluster`` in its own process, JSON lines to a file."""

    def __init__(self, directory: Path, name: str, url: str, config: Path, ttl: float,
                 replicas: int, extra: Sequence[str] = (), publish: str | None = None) -> None:
        self.name = name
        self.out = directory / f"{name}.jsonl"
        self.err = directory / f"{name}.log"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "cacofonisk", "-v", "listen", "--cluster", url, "--config",
                 str(config), "--format", "jsonl", "--lease-ttl", str(ttl),
                 "--cluster-replicas", str(replicas), "--worker-id", name,
                 "--publish", publish or url, "--stream-replicas", str(replicas), *extra],
                stdout=out, stderr=err)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout)

    def records(self) -> list[dict[str, Any]]:
        lines = self.out.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


async def stop_all(workers: Mapping[str, Worker], farm: Farm | None, *servers: Any) -> None:
    """Stop what a test started, whatever state it is in: the workers still
    running (SIGTERM), the farm, then ``servers`` (proxies, NATS: ``stop()``)."""
    for worker in workers.values():
        if worker.proc.poll() is None:
            await asyncio.to_thread(worker.terminate)
    if farm is not None:
        farm.stop()
    for server in servers:
        server.stop()


async def cluster_view(url: str, ttl: float) -> ClusterView:
    """The lease bucket now, read the way ``cluster status`` reads it."""
    import nats

    nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=1)
    try:
        store = LeaseStore(nc.jetstream(timeout=2.0), BUCKET, ttl, 2.0)
        await store.open(create=False)
        return await store.view()
    finally:
        await nc.close()


async def wait_followed(url: str, ttl: float, servers: Iterable[str], live: Iterable[str],
                        since: float, limit: float, balanced: bool = False) -> float:
    """Seconds from ``since`` (time.time) until every server is followed by a
    worker of ``live``, connected, with a lease renewed after ``since``
    (and, if ``balanced``, every worker of ``live`` follows S/W of them,
    rounded down or up).

    Raises:
        AssertionError: not within ``limit`` seconds, naming who follows what.
    """
    wanted, workers = set(servers), set(live)
    view: ClusterView | None = None
    error = ""
    while time.time() - since < limit:
        try:
            view = await cluster_view(url, ttl)
        except Exception as err:  # NATS busy or electing: try again, say it if it lasts
            error = f"; the bucket could not be read ({err!r})"
            await asyncio.sleep(0.1)
            continue
        ok = all(
            name in view.leases and view.leases[name].value.get("worker") in workers
            and view.leases[name].value.get("connected")
            and float(view.leases[name].value.get("renewed", 0)) > since
            for name in wanted)
        if ok and balanced:
            loads = collections.Counter(view.leases[n].value.get("worker") for n in wanted)
            low, high = len(wanted) // len(workers), -(-len(wanted) // len(workers))
            ok = all(low <= loads[w] <= high for w in workers)
        if ok:
            return time.time() - since
        await asyncio.sleep(0.1)
    held = {n: e.value.get("worker") for n, e in (view.leases if view else {}).items()}
    raise AssertionError(f"not every server followed by {sorted(workers)} within "
                         f"{limit:g} s: {held}{error}")


async def stream_records(url: str, subjects: str = "cacofonisk.calls.>"
                         ) -> list[dict[str, Any]]:
    """Every record stored in the CACOFONISK stream, in stream order, with the
    publishing worker and fencing token from the message headers."""
    import nats

    nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=1)
    out: list[dict[str, Any]] = []
    try:
        js = nc.jetstream(timeout=5.0)
        sub = await js.pull_subscribe(subjects, stream="CACOFONISK")
        while True:
            try:
                msgs = await sub.fetch(500, timeout=1.0)
            except Exception:  # nats' TimeoutError: nothing left
                break
            for msg in msgs:
                record = json.loads(msg.data)
                headers = msg.headers or {}
                record["worker"] = headers.get("Cacofonisk-Worker")
                record["lease"] = int(headers.get("Cacofonisk-Lease", "0"))
                record["published"] = float(msg.metadata.sequence.stream)
                out.append(record)
                await msg.ack()
    finally:
        await nc.close()
    return out


def per_call(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], collections.Counter[str]]:
    """Hooks per (server, call id) after de-duplication by event id."""
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        seen.setdefault(record["event_id"], record)
    calls: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    for record in seen.values():
        calls[(record["server"], record["call_id"])][record["event"]] += 1
    return calls


def overlapping_publishers(records: Iterable[dict[str, Any]]) -> list[str]:
    """Servers for which, in publish order (``published``: a time, or the
    stream sequence), a record of an older lease (a
    smaller fencing token) follows one of a newer lease: two workers
    publishing for one server at the same moment."""
    by_server: dict[str, list[tuple[float, int, str]]] = collections.defaultdict(list)
    for record in records:
        by_server[record["server"]].append((record["published"], record["lease"],
                                            record["worker"]))
    bad = []
    for server, rows in by_server.items():
        rows.sort()
        newest = 0
        for published, lease, worker in rows:
            if lease < newest:
                bad.append(f"{server}: {worker} (lease {lease}) published at {published:.3f} "
                           f"after lease {newest}")
                break
            newest = lease
    return bad

"""Cluster mode: failover time against the lease TTL, and servers per worker at what CPU.

    python bench/cluster.py failover [--ttl 2 4 8] [--repeat 5] [--servers 6]
    python bench/cluster.py load [--servers 10 50 100] [--rate 20] [--seconds 10]

Both run real processes on loopback, as tests/test_cluster_failover.py
does: a nats-server -js node, the AMI farm (cacofonisk.testing.ami_farm,
one process serving every server) and ``cacofonisk listen --cluster``
workers (``--publish`` to the same NATS, so a worker does everything a
production one does).

* ``failover``: two workers share the servers; the one that follows the
  most is killed with SIGKILL; the time until every server is followed
  again (by the survivor, connected and resynced, with a renewed lease) is
  one sample; a new worker is started and the spread awaited before the
  next kill. Prints p50 and max per TTL. Expect about TTL + one round
  (TTL / 4) + connect and resync.
* ``load``: one worker follows N servers, each sending ``--rate`` AMI events
  a second (overlapping answered calls); the worker's CPU (user + system,
  from /proc) over ``--seconds`` once every server is followed, in % of one
  core, its resident memory, the AMI events a second it really followed
  (4 x its records: the farm's calls are 16 events and 4 records) and the
  farm's own CPU (near 100 % means the farm, not the worker, is the limit),
  and the latency from the AMI Timestamp to the record handed on (p50, p99).

Needs nats-server (scripts/install-system-deps.sh) and the extra 'nats'.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# run as a script: the repository root (not this folder) first, then the tests' harness
sys.path[0] = str(BENCH.parent)
sys.path.insert(1, str(BENCH.parent / "tests"))

from cluster_harness import Farm, Worker, cluster_view, wait_followed  # noqa: E402

from cacofonisk.testing import nats_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def failover(ttl: float, repeat: int, servers: int, root: Path) -> list[float]:
    """``repeat`` samples of the failover time with lease TTL ``ttl``."""
    node = nats_server.single(root / "nats")
    seconds = repeat * (3 * ttl + 15) + 60  # long enough for every sample
    farm = Farm(root, servers=servers, calls=int(10.0 * seconds / 16) + 4, in_flight=4,
                rate=10.0)
    workers: dict[str, Worker] = {}
    samples: list[float] = []
    try:
        for name in ("a0", "b0"):
            workers[name] = Worker(root, name, node.url, farm.config, ttl, 1)
        await wait_followed(node.url, ttl, farm.names, workers, time.time(), 60, balanced=True)
        for i in range(repeat):
            view = await cluster_view(node.url, ttl)
            held: dict[str, int] = {}
            for entry in view.leases.values():
                held[entry.value["worker"]] = held.get(entry.value["worker"], 0) + 1
            victim = max(held, key=lambda w: held[w])
            killed = time.time()
            workers.pop(victim).kill()
            samples.append(await wait_followed(node.url, ttl, farm.names, workers, killed,
                                               4 * ttl + 10))
            name = f"n{i}"
            workers[name] = Worker(root, name, node.url, farm.config, ttl, 1)
            await wait_followed(node.url, ttl, farm.names, workers, time.time(), 60,
                                balanced=True)
    finally:
        for worker in workers.values():
            worker.terminate()
        farm.stop()
        node.stop()
    return samples


def lines(path: Path) -> int:
    with open(path, "rb") as fd:
        return sum(1 for _ in fd)


def latencies(path: Path, since: float) -> tuple[float, float]:
    """p50 and p99 seconds from an event's AMI Timestamp (the farm stamps it
    when it sends) to the worker handing its record on, for records after
    ``since``."""
    import json

    delays = sorted(r["published"] - r["timestamp"] for r in
                    (json.loads(line) for line in path.read_text().splitlines() if line)
                    if r.get("timestamp") and r["published"] >= since)
    if not delays:
        return float("nan"), float("nan")
    return delays[len(delays) // 2], delays[int(len(delays) * 0.99)]


async def load(servers: int, rate: float, seconds: float, root: Path
               ) -> tuple[float, float, float, float, tuple[float, float]]:
    """AMI events/s really followed, CPU % of one core and RSS (MiB) of one
    worker following ``servers``, and the farm's CPU % (is it the limit?).

    Events/s are measured, not asked for: each farm call is 16 AMI events
    and 4 records, so events = 4 x the records the worker printed.
    """
    node = nats_server.single(root / "nats")
    calls = int(rate * (seconds + 60) / 16) + 8
    farm = Farm(root, servers=servers, calls=calls, in_flight=8, rate=rate)
    worker = Worker(root, "solo", node.url, farm.config, 10.0, 1)
    try:
        await wait_followed(node.url, 10.0, farm.names, ["solo"], time.time(), 120)
        await asyncio.sleep(2.0)
        before, start, wall = cpu_seconds(worker.proc.pid), time.monotonic(), time.time()
        farm_before, records_before = cpu_seconds(farm.proc.pid), lines(worker.out)
        await asyncio.sleep(seconds)
        spent = time.monotonic() - start
        used = cpu_seconds(worker.proc.pid) - before
        events = 4 * (lines(worker.out) - records_before) / spent
        farm_cpu = 100.0 * (cpu_seconds(farm.proc.pid) - farm_before) / spent
        return (events, 100.0 * used / spent, rss_mib(worker.proc.pid), farm_cpu,
                latencies(worker.out, wall))
    finally:
        try:
            worker.terminate(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        farm.stop()
        node.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("failover")
    one.add_argument("--ttl", type=float, nargs="+", default=[2.0, 4.0, 8.0])
    one.add_argument("--repeat", type=int, default=5)
    one.add_argument("--servers", type=int, default=6)
    two = sub.add_parser("load")
    two.add_argument("--servers", type=int, nargs="+", default=[10, 50, 100])
    two.add_argument("--rate", type=float, default=20.0, help="AMI events/s per server")
    two.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if nats_server.binary() is None:
        print(nats_server.MISSING, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "failover":
            print(f"{'lease TTL':>9}  {'samples':>7}  {'p50':>6}  {'max':>6}")
            for ttl in args.ttl:
                root = Path(tmp) / f"ttl{ttl:g}"
                root.mkdir()
                samples = asyncio.run(failover(ttl, args.repeat, args.servers, root))
                print(f"{ttl:>8g}s  {len(samples):>7}  {statistics.median(samples):>5.2f}s  "
                      f"{max(samples):>5.2f}s", flush=True)
        else:
            print(f"{'servers':>7}  {'events/s':>8}  {'worker CPU':>10}  {'RSS':>9}  "
                  f"{'farm CPU':>8}  {'latency p50':>11}  {'p99':>7}")
            for count in args.servers:
                root = Path(tmp) / f"n{count}"
                root.mkdir()
                events, cpu, rss, farm_cpu, (p50, p99) = asyncio.run(
                    load(count, args.rate, args.seconds, root))
                print(f"{count:>7}  {events:>8.0f}  {cpu:>9.1f}%  {rss:>6.1f}MiB  "
                      f"{farm_cpu:>7.1f}%  {p50 * 1000:>9.0f}ms  {p99 * 1000:>5.0f}ms",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``cacofonisk listen --cluster``: the command-line side of cluster mode.

Why a module of its own: listen.py stays the single-process listener; this
adds the cluster options to its parser and runs a ClusterWorker in place of
an AmiRunner when ``--cluster`` is given. Only the standard library is
imported at module level, so building the parser never needs nats-py.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..calls import CallEvent
from ..errors import ConfigurationError

#: The lease bucket's name unless --cluster-bucket says otherwise.
DEFAULT_BUCKET = "cacofonisk"


def add_arguments(parser: argparse.ArgumentParser, worker: bool = True) -> None:
    """The cluster options of ``listen``; only the connection ones (``worker``
    False) for ``cluster status``."""
    group = parser.add_argument_group("cluster mode (extra 'nats')")
    group.add_argument("--cluster", metavar="URLS",
                       help="share the servers with other workers through NATS JetStream "
                            "at nats://HOST:PORT[,nats://...]; each server is followed by "
                            "one worker at a time")
    group.add_argument("--cluster-bucket", default=DEFAULT_BUCKET, metavar="NAME",
                       help=f"key-value bucket of the leases (default {DEFAULT_BUCKET!r}; "
                            "one per cluster)")
    if worker:
        group.add_argument("--lease-ttl", type=float, default=10.0, metavar="SECONDS",
                           help="a dead worker's servers are taken over after about this "
                                "long (default 10; the same on every worker)")
        group.add_argument("--cluster-replicas", type=int, default=1, metavar="N",
                           help="JetStream replicas of the buckets (3 on a 3-node NATS)")
        group.add_argument("--worker-id", default="", metavar="NAME",
                           help="this worker's name in `cluster status` "
                                "(default HOSTNAME-PID)")


def settings_from(args: argparse.Namespace) -> Any:
    """ClusterSettings from the parsed options.

    Raises:
        ConfigurationError: a bad URL list, TTL or replica count.
    """
    from .worker import ClusterSettings

    urls = tuple(u.strip() for u in str(args.cluster).split(",") if u.strip())
    return ClusterSettings(urls=urls, bucket=args.cluster_bucket,
                           lease_ttl=float(getattr(args, "lease_ttl", 10.0)),
                           replicas=int(getattr(args, "cluster_replicas", 1)),
                           worker_id=str(getattr(args, "worker_id", "") or ""))


class StampedLines:
    """Adds the cluster origin to each JSON line of ``--format jsonl``.

    Each line gets ``worker`` (who published it), ``lease`` (the fencing
    token: the revision of the claim, growing with every claim of any
    server) and ``published`` (wall time), so a reader can check that no two
    workers published for one server at once.
    """

    def __init__(self, out: Any) -> None:
        self._out = out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)

    def on_cluster_event(self, record: CallEvent, origin: Mapping[str, Any]) -> None:
        line = {**record.as_dict(), **origin, "published": time.time()}
        self._out._write(json.dumps(line, sort_keys=True, default=str))


def run_cluster(args: argparse.Namespace, hosts: Sequence[Mapping[str, Any]],
                options: Mapping[str, Any], reporter: Any) -> int:
    """Run one worker until SIGINT/SIGTERM; then hand every server over."""
    from .worker import ClusterWorker

    if getattr(args, "record", None):
        raise ConfigurationError("--record is not available with --cluster (each worker "
                                 "sees only some servers); use --format jsonl")
    settings = settings_from(args)
    if getattr(args, "format", "text") == "jsonl":
        reporter = StampedLines(reporter)
    worker = ClusterWorker(settings, hosts, reporter, options)
    out = reporter if not isinstance(reporter, StampedLines) else reporter._out
    if hasattr(out, "on_broken_pipe"):
        out.on_broken_pipe = worker.stop
    asyncio.run(_until_signal(worker))
    return 0


async def _until_signal(worker: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, worker.stop)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
    try:
        await worker.run()
    finally:
        sys.stdout.flush()


__all__ = ["StampedLines", "add_arguments", "run_cluster", "settings_from"]

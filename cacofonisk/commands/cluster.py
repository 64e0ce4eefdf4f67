"""``cacofonisk cluster status``: which worker follows which server.

    cacofonisk cluster status --cluster nats://10.0.0.9:4222 [--config servers.toml]

Reads the lease bucket the ``listen --cluster`` workers share (extra
'nats'): per server the worker that follows it, since when, whether it is
connected, its lag (from the AMI Timestamp) and the age of its last event;
then the live workers. With ``--config``, servers nobody follows are listed
as UNFOLLOWED. ``--format json`` prints the same as one JSON object. Exit
status 2 when NATS cannot be reached or no worker ever started.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ..cluster.wiring import add_arguments
from ..errors import ConfigurationError


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("cluster", help="look at a listen --cluster cluster",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("status",), help="what to show")
    add_arguments(parser, worker=False)
    parser.add_argument("--config", metavar="FILE",
                        help="the workers' servers.toml: also list servers nobody follows")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the status once."""
    if not args.cluster:
        raise ConfigurationError("--cluster nats://HOST:PORT is required")
    servers: list[str] = []
    if args.config:
        from .server_config import load_config

        data = load_config(args.config)
        servers = [str(s.get("name") or t) if isinstance(s, dict) else str(t)
                   for t, s in data["servers"].items()]
    print(asyncio.run(_status(args, servers)))
    return 0


async def _status(args: argparse.Namespace, servers: list[str]) -> str:
    from ..cluster.leases import LeaseStore
    from ..cluster.status import format_status, status_rows
    from ..cluster.worker import ClusterSettings, connect

    settings = ClusterSettings(urls=tuple(u.strip() for u in args.cluster.split(",")
                                          if u.strip()), bucket=args.cluster_bucket)
    nc = await connect(settings, "cacofonisk-status", timeout=5.0, reconnect=False)
    try:
        store = LeaseStore(nc.jetstream(timeout=5.0), settings.bucket, 0.0, 5.0)
        await store.open(create=False)
        view = await store.view()
    finally:
        await nc.close()
    if args.format == "json":
        return json.dumps({"servers": status_rows(view, servers),
                           "workers": {w: e.value for w, e in sorted(view.workers.items())}},
                          sort_keys=True)
    return format_status(view, servers)


__all__ = ["add_parser", "run"]

"""``listen --publish``: the NATS options of ``cacofonisk listen`` and their wiring.

Why a module of its own: listen.py is shared by several features; this
keeps the publishing options, their checks and the publisher's set-up in
one place, and imports nats-py only when ``--publish`` is given.

    cacofonisk listen --config servers.toml --publish nats://10.0.0.7:4222,10.0.0.8:4222 \\
        --stream-replicas 3 --stream-max-age 14d --spill-file /var/lib/cacofonisk/spill.jsonl
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import Any

from ..delivery.subjects import DEFAULT_PARTITIONS, DEFAULT_PREFIX, DEFAULT_STREAM
from ..errors import ConfigurationError
from ..manager import ChannelManager
from ..reporters import MultiReporter

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``12h`` or ``7d`` (argparse type)."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 15m, 12h, 7d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The publishing options (all unused without ``--publish``)."""
    group = parser.add_argument_group("durable delivery (NATS JetStream; pip install "
                                      "cacofonisk[nats])")
    group.add_argument("--publish", metavar="nats://HOST:PORT[,HOST:PORT]",
                       help="also store every call-event record in a JetStream stream "
                            "(created if absent)")
    group.add_argument("--publish-raw", action="store_true",
                       help="also store every raw AMI event (replay it with "
                            "`cacofonisk replay nats://...`)")
    group.add_argument("--stream", default=DEFAULT_STREAM, metavar="NAME",
                       help=f"stream name (default {DEFAULT_STREAM})")
    group.add_argument("--stream-max-age", type=duration, default=duration("7d"),
                       metavar="DURATION", help="how long the stream keeps messages "
                       "(e.g. 12h, 7d; 0 = no limit; default 7d)")
    group.add_argument("--stream-replicas", type=int, default=1, metavar="N",
                       help="copies in a NATS cluster (1, 3 or 5; default 1)")
    group.add_argument("--stream-retention", choices=("limits", "interest", "workqueue"),
                       default="limits", help="JetStream retention policy (default limits)")
    group.add_argument("--subject-prefix", default=DEFAULT_PREFIX, metavar="PREFIX",
                       help=f"first subject tokens (default {DEFAULT_PREFIX})")
    group.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS, metavar="N",
                       help="call partitions, recorded in a new stream's description "
                            f"(default {DEFAULT_PARTITIONS})")
    group.add_argument("--publish-buffer", type=int, default=10_000, metavar="N",
                       help="records kept in memory while NATS is away (default 10000)")
    group.add_argument("--spill-file", metavar="PATH",
                       help="append records past the buffer to PATH (sent first after a "
                            "restart); without it they are counted and dropped")


def wire(args: argparse.Namespace, reporter: Any, options: dict[str, Any]
         ) -> tuple[Any, Callable[..., Any]]:
    """The reporter and channel-manager factory for AmiRunner, with publishing when asked.

    Also chains the publisher's figures into ``--health`` output.

    Raises:
        ConfigurationError: a bad NATS URL or stream option (exit 2, before
            any connection is made).
    """
    if not getattr(args, "publish", None):
        if getattr(args, "publish_raw", False):
            raise ConfigurationError("--publish-raw needs --publish nats://HOST:PORT")
        return reporter, ChannelManager
    from ..delivery.subjects import SubjectScheme, parse_nats_url
    servers = parse_nats_url(args.publish)
    scheme = SubjectScheme(args.subject_prefix, args.partitions)
    try:
        from ..delivery.publisher import NatsPublisher
        from ..delivery.streams import StreamSettings
    except ImportError as err:
        raise ConfigurationError(f"--publish needs nats-py ({err.name} is missing): "
                                 "pip install 'cacofonisk[nats]'") from None
    stream = StreamSettings(args.stream, args.stream_max_age, args.stream_replicas,
                            args.stream_retention)
    publisher = NatsPublisher(servers, stream=stream, scheme=scheme,
                              buffer_size=args.publish_buffer, spill_path=args.spill_file)
    on_health = options.get("on_health")
    if on_health is not None:
        def with_publisher(health: Any) -> None:
            on_health(health)
            print(format_publisher_health(publisher.health()), file=sys.stderr, flush=True)
        options["on_health"] = with_publisher
    factory: Callable[..., Any] = publisher.raw_tap() if args.publish_raw else ChannelManager
    return MultiReporter([reporter, publisher]), factory


def format_publisher_health(figures: dict[str, Any]) -> str:
    """One line of the publisher's figures for ``--health``."""
    state = "up" if figures.get("connected") else "DOWN"
    keys = ("acked", "duplicates", "in_flight", "buffered", "spill_waiting", "overflowed",
            "lost", "expired")
    return f"health nats: {state} " + " ".join(f"{k}={figures.get(k)}" for k in keys)

"""``cacofonisk replay nats://...``: the options and wiring of a JetStream source.

Why apart from replay.py: the file replay needs nothing beyond the base
install; this imports nats-py only when a nats:// source is given.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError
from .publish_options import duration


def is_nats(files: Sequence[str]) -> bool:
    """True when the replay source is a NATS URL (then it must be the only one)."""
    nats = [f for f in files if f.startswith(("nats://", "tls://"))]
    if nats and len(files) > 1:
        raise ConfigurationError("replay reads either files or one nats:// source, not both")
    return bool(nats)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that apply to a nats:// source only."""
    group = parser.add_argument_group("reading a JetStream stream (nats:// source)")
    group.add_argument("--stream", default="CACOFONISK", metavar="NAME",
                       help="stream name (default CACOFONISK)")
    group.add_argument("--subject-prefix", default="cacofonisk", metavar="PREFIX")
    group.add_argument("--server", metavar="NAME", help="only this AMI server's events")
    group.add_argument("--subject", metavar="SUBJECT",
                       help="any subject filter over the raw events (default "
                            "PREFIX.ami.> or PREFIX.ami.<server>.>)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--since", metavar="TIME",
                       help="start at an ISO time (2026-12-01T08:00:00+00:00) or a "
                            "duration ago (12h, 7d)")
    where.add_argument("--start-seq", type=int, metavar="N", help="start at stream sequence N")


def since_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``--since``: an ISO time (UTC when no zone is given) or a duration before now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        return now - dt.timedelta(seconds=duration(text))
    except argparse.ArgumentTypeError:
        pass
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"--since {text!r} is neither an ISO time nor a duration "
                                 "such as 12h") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def run(args: argparse.Namespace, reporter: Any) -> int:
    """Replay the stream into ``reporter``."""
    from ..delivery.subjects import SubjectScheme, parse_nats_url
    servers = parse_nats_url(args.files[0])
    if args.start_seq is not None and args.start_seq < 1:
        raise ConfigurationError(f"--start-seq must be 1 or more, not {args.start_seq}")
    since = since_time(args.since) if args.since else None
    scheme = SubjectScheme(args.subject_prefix)
    if args.subject and not args.subject.startswith(f"{scheme.prefix}.ami."):
        raise ConfigurationError(f"--subject {args.subject!r} must be a raw-event subject "
                                 f"under {scheme.prefix}.ami.")
    try:
        from ..delivery import source
    except ImportError as err:
        raise ConfigurationError(f"a nats:// source needs nats-py ({err.name} is missing): "
                                 "pip install 'cacofonisk[nats]'") from None
    asyncio.run(source.replay(servers, reporter, stream=args.stream, scheme=scheme,
                              server=args.server, subject=args.subject,
                              start_seq=args.start_seq, since=since))
    return 0

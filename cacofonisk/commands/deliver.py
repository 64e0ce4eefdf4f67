"""``cacofonisk deliver``: POST the records stored in JetStream to a webhook.

    CACOFONISK_WEBHOOK_SECRET=whsec_... cacofonisk deliver \\
        --from nats://10.0.0.7:4222,10.0.0.8:4222 --webhook https://crm.example/hooks/calls

Run as many as you like with the same ``--durable``: they share the work,
and every call's records still arrive in order (docs/delivery.md). Each
request is a Standard Webhooks 1.0 request (``webhook-id`` = the record's
``event_id``; ``webhook-signature`` when a secret is given with
``--webhook-secret-file PATH`` or ``$CACOFONISK_WEBHOOK_SECRET``, never on
the command line). SIGINT/SIGTERM stop cleanly; a record being retried is
left to JetStream, which hands it out again.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from ..delivery.subjects import DEFAULT_PARTITIONS, DEFAULT_PREFIX, DEFAULT_STREAM
from ..errors import ConfigurationError
from .publish_options import duration


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("deliver", help="POST stored call events to a webhook "
                            "(NATS JetStream; pip install cacofonisk[webhook])",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", required=True,
                        metavar="nats://HOST:PORT[,HOST:PORT]", help="the NATS servers")
    parser.add_argument("--webhook", required=True, metavar="URL",
                        help="http(s) URL that receives one POST per record")
    parser.add_argument("--webhook-secret-file", metavar="PATH",
                        help="signing secret (whsec_<base64>) in the first line of PATH "
                             "(else $CACOFONISK_WEBHOOK_SECRET; none: unsigned)")
    parser.add_argument("--durable", default="cacofonisk-webhook", metavar="NAME",
                        help="consumer name shared by the processes serving one webhook")
    parser.add_argument("--stream", default=DEFAULT_STREAM, metavar="NAME")
    parser.add_argument("--subject-prefix", default=DEFAULT_PREFIX, metavar="PREFIX")
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS, metavar="N",
                        help="partitions to expect when the stream does not record its "
                             f"count (default {DEFAULT_PARTITIONS}; the stream's own count wins)")
    parser.add_argument("--max-attempts", type=int, default=50, metavar="N",
                        help="POSTs of one record before it is dead-lettered (default 50)")
    parser.add_argument("--max-age", type=duration, default=duration("1d"),
                        metavar="DURATION", help="age after which a failing record is "
                        "dead-lettered (default 1d)")
    parser.add_argument("--backoff", type=duration, default=0.5, metavar="DURATION",
                        help="first retry delay, doubled per attempt (default 0.5s)")
    parser.add_argument("--backoff-cap", type=duration, default=30.0, metavar="DURATION",
                        help="longest retry delay (default 30s)")
    parser.add_argument("--timeout", type=duration, default=10.0, metavar="DURATION",
                        help="one request's time limit (default 10s)")
    parser.add_argument("--ack-wait", type=duration, default=30.0, metavar="DURATION",
                        help="how long JetStream waits for a silent deliver process before "
                             "another one gets its record; more than --timeout (default 30s)")
    parser.add_argument("--health", type=float, default=0.0, metavar="SECONDS",
                        help="print delivery figures to stderr every SECONDS")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Deliver until SIGINT/SIGTERM (exit 0); bad options exit 2 via the CLI."""
    from ..delivery.subjects import SubjectScheme, parse_nats_url
    from ..delivery.webhook import check_url
    servers = parse_nats_url(args.source)
    check_url(args.webhook)
    scheme = SubjectScheme(args.subject_prefix, args.partitions)
    if args.ack_wait <= args.timeout:
        raise ConfigurationError(f"--ack-wait ({args.ack_wait:g}s) must be longer than "
                                 f"--timeout ({args.timeout:g}s)")
    if args.max_attempts < 1:
        raise ConfigurationError(f"--max-attempts must be at least 1, not {args.max_attempts}")
    try:
        from ..delivery.deliver import Deliverer
        from ..delivery.streams import StreamSettings
        from ..delivery.webhook import WebhookPoster, load_secret
    except ImportError as err:
        raise ConfigurationError(f"deliver needs nats-py and aiohttp ({err.name} is missing):"
                                 " pip install 'cacofonisk[webhook]'") from None
    poster = WebhookPoster(args.webhook, load_secret(args.webhook_secret_file),
                           timeout=args.timeout)
    deliverer = Deliverer(servers, poster, scheme=scheme, stream=StreamSettings(args.stream),
                          durable=args.durable, max_attempts=args.max_attempts,
                          max_age=args.max_age, backoff=args.backoff,
                          backoff_cap=args.backoff_cap, ack_wait=args.ack_wait)
    asyncio.run(_main(deliverer, args.health))
    return 0


async def _main(deliverer: Any, health_every: float) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, deliverer.stop)
    reporter = asyncio.create_task(_report(deliverer, health_every)) if health_every > 0 \
        else None
    try:
        await deliverer.run()
    finally:
        if reporter is not None:
            reporter.cancel()


async def _report(deliverer: Any, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        figures = deliverer.health()
        print("health deliver: " + " ".join(f"{k}={v}" for k, v in figures.items()
                                            if k != "last_error"), file=sys.stderr, flush=True)

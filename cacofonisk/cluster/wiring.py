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
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..calls import CallEvent
from ..errors import ConfigurationError
from ..reporters.base import deliver

log = logging.getLogger(__name__)

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
                           help="lease time-to-live: a dead worker's servers are taken "
                                "over after about 1.25 x this (default 10; the same on "
                                "every worker)")
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


class ClusterOutput:
    """Where a worker's followers hand their records: the listen output and,
    with ``--publish``, the NatsPublisher.

    Each record comes with its origin: ``worker`` (who follows the server)
    and ``lease`` (the fencing token: the revision that claimed the lease,
    larger for every later claim). ``--format jsonl`` lines carry both, and
    ``published`` (wall time); published messages carry them as the headers
    ``Cacofonisk-Worker`` and ``Cacofonisk-Lease``, so a reader of the
    stream can check that no two workers published for one server at once
    (the token never goes down in stream order).
    """

    def __init__(self, out: Any, stamp_lines: bool, publisher: Any = None,
                 live: Any = None) -> None:
        self.out = out
        self.stamp_lines = stamp_lines
        self.publisher = publisher
        #: the live view's reporter with ``--http`` (None without)
        self.live = live

    def message_of(self, record: CallEvent) -> Any:
        """The message ``record`` will be published as (without its origin
        headers), or None when nothing is published (no ``--publish``, or a
        record without event id). The follower keeps it in its checkpoint's
        outbox until JetStream acknowledges it."""
        if self.publisher is None or not record.event_id:
            return None
        return self.publisher.scheme.record_message(record)

    def on_cluster_event(self, record: CallEvent, origin: Mapping[str, Any],
                         deadline: Callable[[], float] | None = None,
                         stored: Callable[[], None] | None = None,
                         message: Any = None) -> None:
        """Write and publish one record of a followed server.

        ``deadline`` (the follower's fence, ``time.monotonic``) goes with the
        published message: the publisher drops it rather than send it after
        the lease may have lapsed (see ``Message.deadline``).

        ``stored`` is called once the record is kept for good: when
        JetStream acknowledges it with ``--publish`` (from the publisher's
        thread), at once without (written is all there is). ``message`` is
        ``message_of(record)`` if the caller made it already.
        """
        if self.live is not None:
            deliver(self.live, record)
        if self.stamp_lines:
            line = {**record.as_dict(), **origin, "published": time.time()}
            self.out._write(json.dumps(line, sort_keys=True, default=str))
        else:
            deliver(self.out, record)
        if message is None:
            message = self.message_of(record)
        if message is not None:
            self._submit(message, origin, deadline, stored)
        elif stored is not None:
            stored()

    def send_again(self, saved: Mapping[str, Any], origin: Mapping[str, Any],
                   deadline: Callable[[], float] | None = None,
                   stored: Callable[[], None] | None = None) -> None:
        """Publish a message of the previous owner's outbox (``Message.as_json``)
        under this worker's origin; its ``Nats-Msg-Id`` is unchanged, so
        JetStream stores it once even if the previous owner's copy got
        through. Without ``--publish``, there is nothing to send."""
        from ..delivery.subjects import Message

        if self.publisher is None:
            if stored is not None:
                stored()
            return
        self._submit(Message.from_json(saved), origin, deadline, stored)

    def _submit(self, message: Any, origin: Mapping[str, Any],
                deadline: Callable[[], float] | None,
                stored: Callable[[], None] | None) -> None:
        headers = {**message.headers, "Cacofonisk-Worker": str(origin["worker"]),
                   "Cacofonisk-Lease": str(origin["lease"])}
        self.publisher.submit(attrs.evolve(message, headers=headers, deadline=deadline,
                                           on_stored=stored))

    def close(self) -> None:
        """At the end of the worker: flush the output, send what waits."""
        for part in (self.out, self.publisher):
            if part is not None:
                try:
                    part.close()
                except Exception:
                    log.exception("closing %r failed", part)


def run_cluster(args: argparse.Namespace, hosts: Sequence[Mapping[str, Any]],
                options: dict[str, Any], out: Any, http: Any = None) -> int:
    """Run one worker until SIGINT/SIGTERM; then hand every server over.

    Args:
        out: listen's stdout reporter (text or JSON lines).
        http: ``HttpOptions`` (``--http``): serve the live view of the servers
            this worker follows, and the cluster in ``/health``; None: no HTTP.
    """
    from ..commands import publish_options
    from .worker import ClusterWorker

    if getattr(args, "record", None):
        raise ConfigurationError("--record is not available with --cluster (each worker "
                                 "sees only some servers); use --format jsonl")
    if getattr(args, "publish_raw", False):
        raise ConfigurationError("--publish-raw is not available with --cluster yet; "
                                 "publish the records with --publish")
    settings = settings_from(args)
    publisher = None
    if getattr(args, "publish", None):
        wired, _ = publish_options.wire(args, out, options)
        publisher = wired.reporters[-1]
    view = None
    if http is not None:
        from ..web import options as http_options

        view = http_options.live_view(http)  # says how to install aiohttp
    output = ClusterOutput(out, getattr(args, "format", "text") == "jsonl", publisher,
                           None if view is None else view.reporter)
    worker = ClusterWorker(settings, hosts, output, options)
    if hasattr(out, "on_broken_pipe"):
        out.on_broken_pipe = worker.stop
    try:
        if view is None:
            asyncio.run(_until_signal(worker))
        else:
            from .http import serve_worker

            asyncio.run(serve_worker(worker, view, http, lambda: _until_signal(worker)))
    finally:
        output.close()
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


__all__ = ["ClusterOutput", "add_arguments", "run_cluster", "settings_from"]

"""Reading raw AMI events back from JetStream, as FileRunner reads a log.

Why: with ``listen --publish-raw`` the stream is the durable event log the
whole design rests on; ``cacofonisk replay nats://...`` rebuilds the calls
of last week from it, or tries a new reporter on what really happened.

Each server's events go to a ChannelManager of their own (the
``Cacofonisk-Server`` header says which), in stream order. Reading stops
at the last message the stream held when reading began.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from nats.js import api
from nats.js.errors import NotFoundError

from ..errors import ConfigurationError, ConnectionFailed
from ..manager import ChannelManager
from .streams import connect
from .subjects import DEFAULT_STREAM, SubjectScheme

log = logging.getLogger(__name__)

BATCH = 256


async def raw_events(servers: Sequence[str], *, stream: str = DEFAULT_STREAM,
                     scheme: SubjectScheme | None = None, server: str | None = None,
                     subject: str | None = None, start_seq: int | None = None, since: dt.datetime | None = None
                     ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(server name, AMI event) pairs from the stream, oldest first.

    Args:
        server: only this server's events (default: every server's).
        subject: a subject filter of one's own (overrides ``server``).
        start_seq / since: where to start (stream sequence, or a time);
            default: the oldest message kept.

    Raises:
        ConnectionFailed: NATS cannot be reached.
        ConfigurationError: the stream does not exist.
    """
    scheme = scheme or SubjectScheme()
    try:
        client = await connect(servers, "cacofonisk-replay", max_reconnect_attempts=2,
                               allow_reconnect=False)
    except Exception as err:  # noqa: BLE001 - one clear line for the CLI
        raise ConnectionFailed(f"cannot reach NATS at {', '.join(servers)}: {err}; is "
                               "nats-server running there?") from None
    try:
        js = client.jetstream(timeout=5.0)
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            raise ConfigurationError(f"NATS has no stream {stream!r}; give --stream NAME "
                                     "(listen --publish-raw creates it)") from None
        last = info.state.last_seq
        if not last:
            return
        config = api.ConsumerConfig(ack_policy=api.AckPolicy.ALL,
                                    deliver_policy=api.DeliverPolicy.ALL,
                                    inactive_threshold=30.0)
        if start_seq is not None:
            config.deliver_policy, config.opt_start_seq = (api.DeliverPolicy.BY_START_SEQUENCE,
                                                           start_seq)
        elif since is not None:
            config.deliver_policy, config.opt_start_time = (api.DeliverPolicy.BY_START_TIME,
                                                            since)
        sub = await js.pull_subscribe(subject or scheme.raw_filter(server), stream=stream,
                                      config=config)
        while True:
            try:
                batch = await sub.fetch(BATCH, timeout=1.0)
            except asyncio.TimeoutError:  # nats-py raises its subclass or, late, the plain one
                return  # nothing more for this filter
            for message in batch:
                name = (message.headers or {}).get("Cacofonisk-Server", "")
                yield name, json.loads(message.data)
            await batch[-1].ack()
            if batch[-1].metadata.sequence.stream >= last or \
                    batch[-1].metadata.num_pending == 0:
                return
    finally:
        await client.close()


async def replay(servers: Sequence[str], reporter: Any, *,
                 manager_class: Callable[..., Any] = ChannelManager, **where: Any) -> int:
    """Replay the stream's raw events through one manager per server; close the reporter.

    Returns:
        how many events were replayed.
    """
    managers: dict[str, Any] = {}
    count = 0
    try:
        async for name, event in raw_events(servers, **where):
            manager = managers.get(name)
            if manager is None:
                manager = managers[name] = manager_class(reporter=reporter, server=name)
            manager.on_event(event)
            count += 1
        for manager in managers.values():
            flush = getattr(manager, "flush", None)
            if flush is not None:
                flush()
    finally:
        reporter.close()
    return count

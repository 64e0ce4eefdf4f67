"""Deliverer: JetStream records to a webhook, at least once, in order per call.

How order per call survives retries and several ``deliver`` processes:
the publisher puts every record of a call in one of N partitions (its
subject's last token, see subjects.py). Each partition has one durable
pull consumer (``<durable>-p<k>``) with ``max_ack_pending=1``: JetStream
hands out the next message of a partition only once the previous one was
acknowledged, to whichever ``deliver`` process asks. A record is acked only
after a 2xx answer, so a hangup is never posted before the ring and answer
that precede it, whatever the receiver or the processes do.

The trade-off: calls of one partition wait for each other. A receiver that
keeps failing one record holds up its partition (1/N of the calls) until
the record succeeds or is dead-lettered (``max_attempts`` / ``max_age``);
the other partitions go on. More partitions: less head-of-line blocking,
more consumers. A deliver process that dies mid-record lets JetStream
redeliver it after ``ack_wait`` to another process.

Retries: capped exponential backoff with jitter (half fixed, half random)
while the message is kept with ``in_progress``. The ``webhook-id`` stays the
record's ``event_id`` on every attempt, so a receiver that got a copy whose
2xx was lost can drop the second one.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import attrs
import nats.errors
from nats.js import api
from nats.js.errors import NotFoundError

from .streams import StreamSettings, connect, ensure_stream, partitions_of
from .subjects import SubjectScheme
from .webhook import Outcome, WebhookPoster

log = logging.getLogger(__name__)


class Deliverer:
    """Consumes every partition of the records' stream and POSTs each record.

    Args:
        servers: NATS URLs.
        poster: the webhook client.
        scheme / stream: must match the publisher's.
        durable: consumer name prefix shared by every deliver process of one
            webhook (another webhook: another name, its own cursor).
        partitions: which partitions this process takes (default all; every
            process may take all, JetStream keeps each in order).
        max_attempts / max_age: after that many POSTs, or that many seconds
            since the record was stored, it goes to the dead-letter stream.
        backoff / backoff_cap: first retry delay and its cap, in seconds.
        ack_wait: seconds JetStream waits for a silent process before it
            hands the record to another one.
    """

    def __init__(self, servers: Sequence[str], poster: WebhookPoster, *,
                 scheme: SubjectScheme | None = None, stream: StreamSettings | None = None,
                 durable: str = "cacofonisk-webhook", partitions: Sequence[int] | None = None,
                 max_attempts: int = 50, max_age: float = 86400.0, backoff: float = 0.5,
                 backoff_cap: float = 30.0, ack_wait: float = 30.0) -> None:
        self.servers = list(servers)
        self.poster = poster
        self.scheme = scheme or SubjectScheme()
        self.stream = stream or StreamSettings()
        self.durable = durable
        self.partitions = list(range(self.scheme.partitions) if partitions is None
                               else partitions)
        self.max_attempts = max_attempts
        self.max_age = max_age
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.ack_wait = ack_wait
        self.counts = {"delivered": 0, "retries": 0, "dead": 0, "redelivered": 0}
        self.last_error = ""
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask ``run`` to end after the records being posted."""
        self._stop.set()

    def health(self) -> dict[str, Any]:
        """Delivered, retried and dead-lettered counts, and the last failure."""
        return {**self.counts, "last_error": self.last_error}

    async def run(self) -> None:
        """Deliver until ``stop()``; reconnects and recreates what is missing."""
        self._stop = asyncio.Event() if self._stop.is_set() else self._stop
        client = None
        delay = 0.2
        while client is None and not self._stop.is_set():
            try:
                client = await connect(self.servers, f"cacofonisk-deliver-{self.durable}")
            except Exception as err:  # noqa: BLE001 - keep trying
                self._failed(f"cannot reach NATS at {', '.join(self.servers)}: {err!r}")
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
        if client is None:
            return
        try:
            js = client.jetstream(timeout=5.0)
            info = await self._retrying(lambda: self._records_stream(js))
            if info is None:
                return
            self._follow_partitions(partitions_of(info))
            # the dead letters get the records' replicas and max age
            dead = attrs.evolve(self.stream, replicas=info.config.num_replicas or 1,
                                max_age=info.config.max_age or 0.0)
            await self._retrying(lambda: ensure_stream(js, dead, self.scheme, dead=True))
            await asyncio.gather(*(self._partition(js, p) for p in self.partitions))
        finally:
            await self.poster.close()
            await client.close()

    def _follow_partitions(self, stored: int | None) -> None:
        """Consume the partitions the stream says the publishers fill.

        Why: a deliver with fewer partitions than the publishers would never
        see the records of the others.
        """
        if stored is None or stored == self.scheme.partitions:
            return
        log.warning("stream %s has %d call partitions, not %d: following the stream",
                    self.stream.name, stored, self.scheme.partitions)
        all_before = self.partitions == list(range(self.scheme.partitions))
        self.scheme = attrs.evolve(self.scheme, partitions=stored)
        if all_before:
            self.partitions = list(range(stored))

    async def _records_stream(self, js: Any) -> Any:
        """The records' stream, once it exists.

        Why not create it: ``listen --publish`` creates it with the replicas
        and max age its operator chose; a deliver started first must not
        create it with defaults. It waits (and says so) instead.
        """
        try:
            return await js.stream_info(self.stream.name)
        except NotFoundError:
            raise LookupError(f"stream {self.stream.name} does not exist yet; waiting for "
                              "`cacofonisk listen --publish` to create it") from None

    async def _retrying(self, make: Any) -> Any:
        delay = 0.2
        while not self._stop.is_set():
            try:
                return await make()
            except Exception as err:  # noqa: BLE001 - a cluster electing a leader
                self._failed(str(err) if isinstance(err, LookupError) else f"NATS: {err!r}")
                await self._sleep(delay)
                delay = min(delay * 2, 2.0)
        return None

    async def _partition(self, js: Any, partition: int) -> None:
        config = api.ConsumerConfig(
            durable_name=f"{self.durable}-p{partition}",
            filter_subject=self.scheme.partition_filter(partition),
            ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=1, ack_wait=self.ack_wait,
            deliver_policy=api.DeliverPolicy.ALL, max_deliver=-1)
        def subscribe() -> Any:
            return self._retrying(lambda: js.pull_subscribe(
                config.filter_subject, durable=config.durable_name, stream=self.stream.name,
                config=config))

        sub = await subscribe()
        failures = 0
        while sub is not None and not self._stop.is_set():
            try:
                messages = await sub.fetch(1, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except Exception as err:  # noqa: BLE001 - NATS away or electing a leader
                self._failed(f"partition {partition}: fetch failed: {err!r}")
                failures += 1
                await self._sleep(0.5)
                if failures % 5 == 0:  # the consumer may be gone (a store lost): again
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                    sub = await subscribe()
                continue
            failures = 0
            for message in messages:
                await self._handle(js, message)

    async def _handle(self, js: Any, message: Any) -> None:
        body: bytes = message.data
        try:
            event_id = str(json.loads(body).get("event_id") or "")
        except (ValueError, AttributeError):
            event_id = ""
        msg_id = event_id or (message.headers or {}).get("Nats-Msg-Id", "") or \
            f"seq-{message.metadata.sequence.stream}"
        if message.metadata.num_delivered > 1:
            self.counts["redelivered"] += 1
        stored_at = message.metadata.timestamp.timestamp()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self.poster.post(msg_id, body)
            if outcome.ok:
                self.counts["delivered"] += 1
                await self._ack(message)
                return
            log.info("webhook %s: %s attempt %d: %s", self.poster.url, msg_id, attempt, outcome)
            self._failed(f"webhook {self.poster.url} failed: {outcome}; retrying with backoff")
            if attempt >= self.max_attempts or time.time() - stored_at > self.max_age:
                await self._dead_letter(js, message, msg_id, outcome, attempt)
                return
            if self._stop.is_set():
                return  # not acked: JetStream hands it out again
            self.counts["retries"] += 1
            await self._wait_before_retry(message, attempt)

    async def _wait_before_retry(self, message: Any, attempt: int) -> None:
        ceiling = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter
        deadline = time.monotonic() + delay
        while not self._stop.is_set():
            try:
                await message.in_progress()  # keep it ours while we wait
            except Exception as err:  # noqa: BLE001 - redelivered in order if it lapses
                log.debug("in_progress: %r", err)
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await self._sleep(min(left, self.ack_wait / 3))

    async def _ack(self, message: Any) -> None:
        """Acknowledge, retrying through a NATS restart for up to ``ack_wait``.

        Why retry: with one message pending per partition, a lost ack holds
        the partition until JetStream's ack_wait ends; the consumer's state
        survives a restart, so the same ack still counts once NATS is back.
        """
        deadline = time.monotonic() + self.ack_wait
        while True:
            try:
                await message.ack_sync(timeout=2.0)
                return
            except Exception as err:  # noqa: BLE001 - NATS away; it may come back
                if time.monotonic() >= deadline or self._stop.is_set():
                    self._failed(f"ack of {message.subject} failed ({err!r}); JetStream "
                                 "hands it out again (webhook-id stays the same)")
                    return
                await self._sleep(0.2)

    async def _dead_letter(self, js: Any, message: Any, msg_id: str, outcome: Outcome,
                           attempts: int) -> None:
        headers = dict(message.headers or {})
        headers.update({"Nats-Msg-Id": f"dead/{headers.get('Nats-Msg-Id', msg_id)}",
                        "Cacofonisk-Dead-Reason": str(outcome),
                        "Cacofonisk-Attempts": str(attempts)})
        stored = await self._retrying(lambda: js.publish(
            self.scheme.dead_subject(message.subject), message.data, headers=headers))
        if stored is None:
            return
        self.counts["dead"] += 1
        log.error("webhook %s: gave up on %s after %d attempts (%s); it is in stream %s_DEAD",
                  self.poster.url, msg_id, attempts, outcome, self.stream.name)
        await self._ack(message)

    def _failed(self, text: str) -> None:
        if text != self.last_error:
            log.warning("%s", text)
        self.last_error = text

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

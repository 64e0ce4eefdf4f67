"""NatsPublisher: a reporter that stores every call-event record in JetStream.

Why a thread of its own: reporter hooks run inside the AMI read loop (or a
file replay), and publishing waits for JetStream's acknowledgements. The
hooks only put a message in a bounded ``Spool`` and wake the publisher's
own asyncio loop, which runs in a daemon thread; nothing the network does
can slow the tracker down. While NATS is unreachable messages wait in the
spool (memory, then the optional spill file); overflow is counted, logged
and shown by ``health()``.

Acknowledgements are awaited with a bounded window (``window`` messages in
flight). Two messages with the same key (one call) are never in flight at
once: a later one waits (parked) for the earlier one's ack, and a failed
publish is retried before its key's next message, so a call's records are
stored in the order they were made while other calls go on. A publish whose ack was
lost is simply sent again: JetStream drops the copy by its ``Nats-Msg-Id``.

A message with a ``deadline`` (cluster mode: the lease of the worker that
made it) is checked before every attempt, its first and each retry, and
when it leaves the parked queue: past the deadline it is dropped and
counted as ``expired``, never sent late, so a cut worker's record cannot
land after its successor's records of the same call.

Use from Python::

    publisher = NatsPublisher(["nats://127.0.0.1:4222"])
    AmiRunner(hosts, publisher).run()            # or MultiReporter(other, publisher)

and with ``--publish-raw``, ``AmiRunner(hosts, publisher,
channel_manager=publisher.raw_tap())`` also stores every AMI event.
The cluster mode reuses ``submit()`` for messages of its own.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..calls import CallEvent
from ..manager import ChannelManager
from ..reporters.base import BaseReporter, deliver
from .spool import Spool
from .streams import StreamSettings, connect, ensure_stream
from .subjects import Message, SubjectScheme

log = logging.getLogger(__name__)

#: seconds between attempts while NATS cannot be reached (doubles up to the cap)
RETRY_DELAY, RETRY_MAX_DELAY = 0.1, 2.0


class NatsPublisher(BaseReporter):
    """Publishes each call-event record (and, optionally, raw AMI events) to JetStream.

    Args:
        servers: NATS server URLs (``subjects.parse_nats_url`` makes them).
        stream: the stream to create when absent.
        scheme: subject prefix and partition count (see subjects.py).
        buffer_size: messages kept in memory while NATS is slow or away.
        spill_path: append-only file for messages past ``buffer_size``;
            a new publisher on the same file sends them first.
        window: publishes awaiting their ack at once.
        ack_timeout: seconds to wait for one ack before sending again.
        close_timeout: seconds ``close()`` waits for waiting messages to be
            acked before it spills (or, without a file, counts them lost).
    """

    def __init__(self, servers: Sequence[str], *, stream: StreamSettings | None = None,
                 scheme: SubjectScheme | None = None, buffer_size: int = 10_000,
                 spill_path: str | Path | None = None, window: int = 256,
                 ack_timeout: float = 2.0, close_timeout: float = 10.0,
                 name: str = "cacofonisk-publisher") -> None:
        self.servers = list(servers)
        self.stream = stream or StreamSettings()
        self.scheme = scheme or SubjectScheme()
        self.window = max(1, window)
        self.ack_timeout = ack_timeout
        self.close_timeout = close_timeout
        self.name = name
        self.spool = Spool(buffer_size, spill_path)
        self._counts = {"published": 0, "acked": 0, "duplicates": 0, "failures": 0,
                        "lost": 0, "expired": 0}
        self._connected = False
        self._last_error = ""
        self._last_ack_at: float | None = None
        #: key -> the message of that key awaiting its ack (one per key)
        self._in_flight: dict[str, Message] = {}
        #: key -> later messages of that key, sent one by one as acks come
        self._parked: dict[str, deque[Message]] = {}
        self._parked_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._closing = False
        self._closed = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    # -- the tracker's side (never blocks on the network) ----------------------------

    def on_call_event(self, record: CallEvent) -> None:
        """Store one record (its JSON as ``replay --format jsonl`` prints it)."""
        if record.event_id:  # user events have no call transition, hence no stable id
            self.submit(self.scheme.record_message(record))

    def publish_raw(self, server: str, event: Mapping[str, Any]) -> None:
        """Store one raw AMI event of ``server``."""
        self.submit(self.scheme.raw_message(server, event))

    def submit(self, message: Message) -> bool:
        """Queue any message for publishing; False if it had to be dropped (counted)."""
        if self._closed:
            self._counts["lost"] += 1
            log.error("publisher closed: message %s not sent", message.msg_id)
            return False
        kept = self.spool.put(message)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not wake.is_set():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the thread died (logged there): keep buffering
                pass
        return kept

    def raw_tap(self, manager_class: Callable[..., Any] = ChannelManager
                ) -> Callable[..., Any]:
        """A ``channel_manager`` factory for AmiRunner that also publishes raw events.

        Why a factory: one reporter serves every server, but a raw event
        does not say which server sent it; each manager gets a thin reporter
        that knows its server.
        """
        def make(reporter: Any, server: str = "") -> Any:
            return manager_class(reporter=_RawTap(reporter, self, server), server=server)
        return make

    def health(self) -> dict[str, Any]:
        """Figures for ``listen --health`` and monitoring.

        ``overflowed`` counts records dropped because the buffer was full
        and there was no spill file; ``lost`` those still waiting when the
        publisher was closed without a spill file; ``expired`` those whose
        deadline (a cluster worker's lease) passed before they were acked.
        """
        return {"connected": self._connected, **self._counts,
                "in_flight": len(self._in_flight),
                "buffered": self.spool.in_memory + self._parked_count,
                "spill_waiting": self.spool.in_file, "spilled": self.spool.spilled,
                "overflowed": self.spool.overflowed, "last_error": self._last_error,
                "last_ack_age": (None if self._last_ack_at is None
                                 else round(time.monotonic() - self._last_ack_at, 3))}

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message is acked; True if it was in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._in_flight and self.spool.peek() is None:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """Send what waits (up to ``close_timeout``), spill the rest, stop the thread."""
        if self._closed:
            return
        self._closing = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)
        self._thread.join(self.close_timeout + 5.0)
        self._closed = True
        unacked = [m for key, first in self._in_flight.items()
                   for m in (first, *self._parked.get(key, ()))]
        before = self.spool.unspillable
        lost = self.spool.spill_all(unacked)
        # a lease-bound message cannot wait for a restart: the lease is gone
        self._counts["expired"] += self.spool.unspillable - before
        self._in_flight.clear()
        self._parked.clear()
        if lost:
            self._counts["lost"] += lost
            log.error("publisher closed with %d messages not acked and no spill file: "
                      "they are lost", lost)
        self.spool.close()

    # -- the publisher's thread -----------------------------------------------------

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # a bug: say so; records keep going to the buffer and spill file
            self._connected = False
            self._last_error = "publisher thread stopped by an internal error"
            log.exception("NATS publisher thread stopped")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._ready.set()
        client = None
        try:
            client = await self._connect_until_closing()
            if client is not None:
                await self._pump(client)
        finally:
            if client is not None:
                try:
                    await asyncio.wait_for(client.close(), 2.0)
                except Exception as err:  # noqa: BLE001 - closing anyway
                    log.debug("NATS close: %s", err)

    async def _connect_until_closing(self) -> Any:
        """Connect (retrying) and make sure the stream exists.

        Once ``close()`` was called, it keeps trying for ``close_timeout``
        only, then gives up (None) so waiting messages can be spilled. The
        attempt runs as a task so that nothing waits for a connect timeout
        longer than that.
        """
        assert self._wake is not None  # noqa: S101 - set by _main
        delay = RETRY_DELAY
        deadline: float | None = None
        while True:
            attempt = asyncio.ensure_future(self._connect_once())
            while not attempt.done():
                if self._closing and deadline is None:
                    deadline = time.monotonic() + self.close_timeout
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    attempt.cancel()
                    return None
                waker = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait([attempt, waker], timeout=left,
                                   return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                self._wake.clear()
            try:
                client = attempt.result()
            except Exception as err:  # noqa: BLE001 - keep buffering, try again
                self._note_error(f"cannot reach NATS at {', '.join(self.servers)}: {err!r}")
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                await self._sleep_or_wake(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY)
                continue
            self._connected = True
            return client

    async def _connect_once(self) -> Any:
        client = await connect(self.servers, self.name, disconnected_cb=self._on_disconnect,
                               reconnected_cb=self._on_reconnect)
        try:
            await ensure_stream(client.jetstream(), self.stream, self.scheme)
        except BaseException:
            await client.close()
            raise
        return client

    async def _on_disconnect(self) -> None:
        self._connected = False
        log.warning("NATS publisher: disconnected; records wait in the buffer")

    async def _on_reconnect(self) -> None:
        self._connected = True
        log.info("NATS publisher: reconnected")

    async def _pump(self, client: Any) -> None:
        """Send queued messages in order: at most ``window`` awaiting acks, one per key.

        A message whose key (call) already has one in flight is parked
        behind it and sent when that ack comes, so one call's records are
        stored in order while other calls' records go on (no head-of-line
        blocking). Parked messages count against a second ``window``.
        """
        js = client.jetstream(timeout=self.ack_timeout)
        slot_freed = asyncio.Event()
        deadline: float | None = None
        tasks: set[asyncio.Task[None]] = set()
        while True:
            if self._closing and deadline is None:
                deadline = time.monotonic() + self.close_timeout
            if deadline is not None and time.monotonic() >= deadline:
                break
            message = self.spool.peek()
            if message is None:
                if self._closing and not self._in_flight:
                    break
                await self._wait_for(slot_freed, deadline)
                continue
            if message.expired(time.monotonic()):
                self.spool.take(message)
                self._expire(message)
                continue
            if message.key in self._in_flight:
                if self._parked_count >= self.window:
                    await self._wait_for(slot_freed, deadline)
                    continue
                self.spool.take(message)
                self._parked.setdefault(message.key, deque()).append(message)
                self._parked_count += 1
                continue
            if len(self._in_flight) >= self.window:
                await self._wait_for(slot_freed, deadline)
                continue
            self.spool.take(message)
            self._in_flight[message.key] = message
            task = asyncio.create_task(self._send(js, client, message, slot_freed))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in list(tasks):
            task.cancel()

    async def _wait_for(self, slot_freed: asyncio.Event, deadline: float | None) -> None:
        assert self._wake is not None  # noqa: S101 - set by _main
        wake = self._wake
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(slot_freed.wait())]
        timeout = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        wake.clear()
        slot_freed.clear()

    async def _send(self, js: Any, client: Any, message: Message,
                    slot_freed: asyncio.Event) -> None:
        """Publish ``message`` until acked, then its key's parked messages in turn.

        A failure is retried in place (the key stays in flight), so nothing
        of that key can overtake it; the id makes a re-sent copy harmless.
        """
        delay = RETRY_DELAY
        while True:
            if message.expired(time.monotonic()):
                self._expire(message)
                if not self._next_of_key(message):
                    break
                message = self._in_flight[message.key]
                delay = RETRY_DELAY
                slot_freed.set()
                continue
            if message.deadline is not None and not client.is_connected:
                # nats-py would hold it in its own buffer and send it on a
                # reconnect, perhaps after the deadline: wait here instead
                await asyncio.sleep(RETRY_DELAY)
                continue
            try:
                ack = await js.publish(message.subject, message.payload,
                                       headers=dict(message.headers) or None)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - retried; the id de-duplicates
                self._counts["failures"] += 1
                log.debug("publish to %s failed: %r", message.subject, err)
                self._note_error(f"publishing to JetStream failed ({err!r}); retrying; "
                                 "records wait in the buffer")
                if "no response from stream" in str(err).lower() or "NoStream" in repr(err):
                    try:
                        await ensure_stream(js, self.stream, self.scheme)
                    except Exception as again:  # noqa: BLE001 - next round
                        log.debug("ensure_stream: %r", again)
                if self._closing and not client.is_connected:
                    break  # close() spills what is in flight
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY)
                continue
            self._counts["published"] += 1
            self._counts["duplicates" if ack.duplicate else "acked"] += 1
            self._last_ack_at = time.monotonic()
            if message.on_stored is not None:
                try:
                    message.on_stored()
                except Exception:  # noqa: BLE001 - the caller's bug must not stop publishing
                    log.exception("on_stored of message %s raised", message.msg_id)
            if not self._next_of_key(message):
                break
            message = self._in_flight[message.key]
            delay = RETRY_DELAY
            slot_freed.set()
        slot_freed.set()

    def _next_of_key(self, message: Message) -> bool:
        """``message`` is done (acked or expired): put its key's next parked
        message in flight; False when none waits (the key leaves the flight)."""
        parked = self._parked.get(message.key)
        if not parked:
            self._parked.pop(message.key, None)
            self._in_flight.pop(message.key, None)
            return False
        self._in_flight[message.key] = parked.popleft()
        self._parked_count -= 1
        return True

    def _expire(self, message: Message) -> None:
        """Count and log a message dropped because its deadline passed."""
        self._counts["expired"] += 1
        count = self._counts["expired"]
        if count == 1 or count % 100 == 0:
            log.warning("publisher: %d message(s) dropped unsent because the lease of the "
                        "worker that made them lapsed (e.g. %s); the successor reports "
                        "those calls from its resync", count, message.msg_id)

    async def _sleep_or_wake(self, seconds: float) -> None:
        assert self._wake is not None  # noqa: S101 - set by _main
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()

    def _note_error(self, text: str) -> None:
        if text != self._last_error:
            log.warning("%s", text)
        self._last_error = text


class _RawTap(BaseReporter):
    """One server's view of the reporter: publishes raw events, passes the rest on."""

    def __init__(self, inner: Any, publisher: NatsPublisher, server: str) -> None:
        self._inner = inner
        self._publisher = publisher
        self._server = server

    def trace_ami(self, event: Any) -> None:
        self._publisher.publish_raw(self._server, event)
        self._inner.trace_ami(event)

    def trace_msg(self, msg: str) -> None:
        self._inner.trace_msg(msg)

    def on_event(self, event: Any) -> None:
        self._inner.on_event(event)

    def on_call_event(self, record: CallEvent) -> None:
        deliver(self._inner, record)

    def close(self) -> None:
        """The runner closes the real reporter itself."""

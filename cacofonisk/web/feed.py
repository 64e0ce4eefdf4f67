"""The call-event feed behind ``GET /events``: numbered, bounded, never blocking.

Why it exists: the AMI read loop hands each call event to the web reporter
synchronously; whatever the HTTP clients do (read slowly, stop reading,
vanish) must cost that loop nothing but a few appends. So:

* every published event gets the next number of a monotonically increasing
  sequence (the SSE ``id:``), and is kept in a ring buffer of the last
  ``buffer_size`` events, from which a reconnecting client resumes
  (``Last-Event-ID``);
* each subscriber has its own queue of at most ``client_queue`` events;
  ``publish`` only ever does ``put_nowait``, and a subscriber whose queue is
  full is *dropped*: its queue is emptied (the memory goes at once) and it
  gets the end-of-stream marker, so its handler closes the connection. The
  browser's EventSource then reconnects with the last id it saw and resumes
  from the buffer;
* a resume from an id older than the buffer cannot be served in full:
  ``subscribe`` says so (``missed``), and the handler tells the client to
  re-read ``GET /calls`` (an SSE ``reset`` event) before the buffered events.

Everything here runs on the event loop's thread (the runner's loop); nothing
awaits, so nothing here can slow the AMI reader down.
"""
from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

#: Default number of events kept for resuming clients.
DEFAULT_BUFFER = 2048
#: Default number of events one client may have waiting before it is dropped.
DEFAULT_CLIENT_QUEUE = 512
#: Default number of SSE clients at once (each may hold a full queue).
DEFAULT_MAX_CLIENTS = 64


@attrs.frozen(slots=True)
class FeedItem:
    """One published event: its sequence number and its JSON text."""

    seq: int
    data: str

    def sse(self) -> bytes:
        """The event as an SSE message (``id:`` then one ``data:`` line)."""
        return f"id: {self.seq}\nevent: call\ndata: {self.data}\n\n".encode()


@attrs.define(eq=False)
class Subscription:
    """One SSE client's queue; ``None`` in it means 'you were dropped, close'."""

    queue: asyncio.Queue[FeedItem | None]
    dropped: bool = False


@attrs.frozen(slots=True)
class Resume:
    """What a new subscriber gets: its queue and what to send first.

    Attributes:
        subscription: the queue of later events.
        backlog: buffered events after the client's last id, oldest first.
        missed: the client's last id is older than the buffer (events in
            between are lost) or newer than any event (the server was
            restarted): it must re-read ``GET /calls``.
        first_kept: the oldest id still buffered (0 when the buffer is empty).
    """

    subscription: Subscription
    backlog: tuple[FeedItem, ...]
    missed: bool
    first_kept: int


class TooManyClients(Exception):
    """``max_clients`` subscribers are connected already (HTTP 503)."""


class EventFeed:
    """Sequence-numbered call events for any number of bounded subscribers.

    Args:
        buffer_size: events kept for resuming (``Last-Event-ID``).
        client_queue: events one subscriber may lag behind before it is dropped.
        max_clients: subscribers at once; one more raises TooManyClients.
    """

    def __init__(self, buffer_size: int = DEFAULT_BUFFER,
                 client_queue: int = DEFAULT_CLIENT_QUEUE,
                 max_clients: int = DEFAULT_MAX_CLIENTS) -> None:
        if buffer_size < 1 or client_queue < 1 or max_clients < 1:
            raise ValueError("buffer_size, client_queue and max_clients must be positive")
        self.client_queue = client_queue
        self.max_clients = max_clients
        self.last_seq = 0
        #: subscribers dropped because their queue was full, since start
        self.dropped_total = 0
        self._buffer: deque[FeedItem] = deque(maxlen=buffer_size)
        self._subscribers: set[Subscription] = set()

    @property
    def clients(self) -> int:
        """Subscribers connected now."""
        return len(self._subscribers)

    @property
    def buffered(self) -> int:
        """Events in the resume buffer now."""
        return len(self._buffer)

    def publish(self, payload: Mapping[str, Any]) -> int:
        """Number ``payload``, buffer it and queue it for every subscriber.

        Never blocks and never raises for a slow subscriber: one whose queue
        is full is dropped instead.

        Returns:
            the event's sequence number.
        """
        self.last_seq += 1
        item = FeedItem(self.last_seq, json.dumps(payload, sort_keys=True, default=str))
        self._buffer.append(item)
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                self.drop(sub)
        return item.seq

    def subscribe(self, last_id: int | None = None) -> Resume:
        """A new subscriber, resuming after ``last_id`` when given.

        The backlog is taken and the queue registered in one synchronous
        step, so no event falls between them.

        Raises:
            TooManyClients: ``max_clients`` are connected already.
        """
        if len(self._subscribers) >= self.max_clients:
            raise TooManyClients(f"{self.max_clients} event-stream clients are connected "
                                 f"already; close one or raise max_clients")
        first_kept = self._buffer[0].seq if self._buffer else 0
        backlog: tuple[FeedItem, ...] = ()
        missed = False
        if last_id is not None and last_id < self.last_seq:
            backlog = tuple(item for item in self._buffer if item.seq > last_id)
            missed = last_id < first_kept - 1
        elif last_id is not None and last_id > self.last_seq:
            missed = True  # an id from before this server started: nothing matches it
        sub = Subscription(asyncio.Queue(maxsize=self.client_queue))
        self._subscribers.add(sub)
        return Resume(sub, backlog, missed, first_kept)

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a subscriber (its connection ended)."""
        self._subscribers.discard(sub)

    def drop(self, sub: Subscription) -> None:
        """Cut a subscriber off: free its queue, and tell its handler to close."""
        if sub.dropped:
            return
        sub.dropped = True
        self.dropped_total += 1
        self._subscribers.discard(sub)
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)

    def close(self) -> None:
        """End every subscriber's stream (the server is stopping)."""
        for sub in list(self._subscribers):
            self._subscribers.discard(sub)
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.queue.put_nowait(None)

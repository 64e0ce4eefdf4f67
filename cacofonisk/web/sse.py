"""``GET /events``: the call events as Server-Sent Events.

Format (one message per call event)::

    id: 42
    event: call
    data: {"call_id": "...", "event": "on_up", "server": "pbx1", ...}

``id`` is the feed's sequence number. A client that reconnects sends the
last id it saw as ``Last-Event-ID`` (browsers do this themselves; the
query parameter ``last_event_id`` does the same for the first connect) and
gets every buffered event after it. When that id is older than the buffer
(or from before a server restart), the stream first sends::

    event: reset
    data: {"reason": "...", "first_kept": 1001, "last_id": 3000}

meaning "events were lost: re-read GET /calls", then the buffered events.

A client that cannot keep up (its queue of ``client_queue`` events is
full) is dropped: the connection is closed and its memory freed; a write
that does not complete within ``write_timeout`` seconds (a client that
stopped reading) ends the connection too. A comment line is sent every
``keepalive`` seconds so proxies and dead peers are noticed.
"""
from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from .feed import EventFeed, FeedItem, TooManyClients

log = logging.getLogger(__name__)

#: seconds between keep-alive comments on a quiet stream
KEEPALIVE = 15.0
#: seconds one write to a client may take before the client is dropped
WRITE_TIMEOUT = 10.0
#: the EventSource reconnect delay we ask browsers for (milliseconds)
RETRY_MS = 2000


def last_event_id(request: web.Request) -> int | None:
    """The id to resume after: the ``Last-Event-ID`` header, else the
    ``last_event_id`` query parameter; None when absent or not a number."""
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


async def stream_events(request: web.Request, feed: EventFeed,
                        keepalive: float = KEEPALIVE,
                        write_timeout: float = WRITE_TIMEOUT) -> web.StreamResponse:
    """Serve one SSE client until it goes away, is dropped, or the feed closes."""
    try:
        resume = feed.subscribe(last_event_id(request))
    except TooManyClients as err:
        return web.json_response({"error": str(err)}, status=503)
    sub = resume.subscription
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    try:
        await response.prepare(request)
        head = f"retry: {RETRY_MS}\n\n"
        if resume.missed:
            reset = {"reason": "events were lost since your Last-Event-ID; re-read GET /calls",
                     "first_kept": resume.first_kept, "last_id": feed.last_seq}
            head += f"event: reset\ndata: {json.dumps(reset)}\n\n"
        await asyncio.wait_for(response.write(head.encode()), write_timeout)
        for old in resume.backlog:
            await asyncio.wait_for(response.write(old.sse()), write_timeout)
        while True:
            item: FeedItem | None
            try:
                item = await asyncio.wait_for(sub.queue.get(), keepalive)
            except TimeoutError:
                await asyncio.wait_for(response.write(b": keepalive\n\n"), write_timeout)
                continue
            if item is None:
                break  # dropped for falling behind, or the server is stopping
            await asyncio.wait_for(response.write(item.sse()), write_timeout)
    except TimeoutError:
        log.info("event-stream client %s stopped reading; dropped", request.remote)
        feed.drop(sub)
    except ConnectionResetError:
        pass  # the client went away
    finally:
        feed.unsubscribe(sub)
    if sub.dropped and request.transport is not None:
        request.transport.close()  # its stream is incomplete: make the client reconnect
    return response

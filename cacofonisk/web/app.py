"""LiveView: the HTTP API and call board over the managers, as an aiohttp app.

Mount it in your own asyncio program::

    view = LiveView()
    runner = AmiRunner(hosts, view.wrap(my_reporter))   # view.reporter sees every call event
    view.attach(runner)                                  # snapshot() and health() come from it
    app = view.application()                             # an aiohttp.web.Application
    # serve it with aiohttp (web.AppRunner + web.TCPSite), or add it to
    # your own app: parent.add_subapp("/live/", app)

Endpoints (shapes in ``docs/live-view.md``): ``GET /calls[?server=]``,
``GET /calls/{server}/{call_id}``, ``GET /calls/{server}/{call_id}/path``
(the call events and machine path, kept a while after the call ended),
``GET /calls/{server}/{call_id}/path.svg``, ``GET /events`` (SSE),
``GET /health``, ``GET /metrics`` and ``GET /`` (the board; its files
under ``/static/``).

With a ``token``, every request needs ``Authorization: Bearer TOKEN``, or
the cookie the board gets by opening ``/?token=TOKEN`` once (browsers
cannot put a header on an EventSource).
"""
from __future__ import annotations

import functools
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from .feed import DEFAULT_BUFFER, DEFAULT_CLIENT_QUEUE, DEFAULT_MAX_CLIENTS, EventFeed
from .history import DEFAULT_MAX_CALLS, CallHistories
from .metrics import CONTENT_TYPE, Counters, render
from .paths import DiagramUnavailable, PathRenderer
from .reporter import CountingReporter, LiveReporter
from .sources import Health, LiveSource
from .sse import stream_events

#: the package data of the board: index.html, board.js, board.css
STATIC = Path(__file__).resolve().parent / "static"
#: the cookie ``/?token=`` sets for the board
TOKEN_COOKIE = "cacofonisk_token"

_dumps = functools.partial(json.dumps, default=str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, **more: Any) -> web.Response:
    return web.json_response({"error": message, **more}, status=status, dumps=_dumps)


class LiveView:
    """What is happening now, over HTTP.

    Args:
        token: the bearer token every request must carry; None: no auth
            (only sensible on a loopback address).
        buffer_size: call events kept for SSE resume.
        client_queue: call events one SSE client may lag before it is dropped.
        max_clients: SSE clients at once.
        max_calls: calls whose events are kept for the path view.
    """

    def __init__(self, *, token: str | None = None, buffer_size: int = DEFAULT_BUFFER,
                 client_queue: int = DEFAULT_CLIENT_QUEUE,
                 max_clients: int = DEFAULT_MAX_CLIENTS,
                 max_calls: int = DEFAULT_MAX_CALLS) -> None:
        self.token = token or None
        self.feed = EventFeed(buffer_size, client_queue, max_clients)
        self.histories = CallHistories(max_calls)
        self.counters = Counters()
        #: the reporter to give the managers (or use ``wrap``)
        self.reporter = LiveReporter(self.feed, self.histories, self.counters)
        self.source = LiveSource([], histories=self.histories)
        self.paths = PathRenderer()

    # -- wiring ------------------------------------------------------------------

    def wrap(self, *reporters: Any) -> CountingReporter:
        """One reporter for the managers: ``reporters`` first, then the view's,
        counting the hooks that raise."""
        return CountingReporter([*reporters, self.reporter], self.counters)

    def attach(self, runner: Any) -> LiveView:
        """Read snapshots (and health, if it has it) from a runner."""
        self.source = LiveSource.for_runner(runner, self.histories)
        return self

    def attach_managers(self, managers: Sequence[Any],
                        health: Callable[[], Health] | None = None) -> LiveView:
        """Read snapshots from these ChannelManagers (and optional health figures)."""
        self.source = LiveSource(managers, health, self.histories)
        return self

    def close(self) -> None:
        """End every event stream (call before the server shuts down)."""
        self.feed.close()

    def application(self) -> web.Application:
        """The aiohttp application (routes, auth, the board's files)."""
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/", self.board)
        app.router.add_get("/calls", self.calls)
        app.router.add_get("/calls/{server}/{call_id}", self.call)
        app.router.add_get("/calls/{server}/{call_id}/path", self.call_path)
        app.router.add_get("/calls/{server}/{call_id}/path.svg", self.call_path_svg)
        app.router.add_get("/events", self.events)
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_static("/static/", STATIC)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        self.close()

    # -- auth ----------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.token is None:
            return await handler(request)
        given = request.query.get("token")
        if request.path == "/" and given is not None and self._matches(given):
            # the board's way in: trade the URL token for a cookie, then drop it from the URL
            found = web.HTTPFound("/")
            found.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="Strict",
                             secure=request.secure)
            raise found
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        presented = (value.strip() if scheme.lower() == "bearer"
                     else request.cookies.get(TOKEN_COOKIE, ""))
        if presented and self._matches(presented):
            return await handler(request)
        response = _error(401, "this cacofonisk HTTP API needs a token: send "
                               "'Authorization: Bearer TOKEN' (the board: open /?token=TOKEN)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="cacofonisk"'
        return response

    def _matches(self, presented: str) -> bool:
        assert self.token is not None  # only called when a token is set
        return hmac.compare_digest(presented.encode(), self.token.encode())

    # -- handlers ------------------------------------------------------------------

    async def board(self, request: web.Request) -> web.FileResponse:
        """``GET /``: the call board page."""
        return web.FileResponse(STATIC / "index.html",
                                headers={"Cache-Control": "no-cache"})

    async def calls(self, request: web.Request) -> web.Response:
        """``GET /calls[?server=NAME]``: every call in flight (the snapshot)."""
        servers = self.source.servers()
        wanted = request.query.get("server")
        if wanted is not None and wanted not in servers:
            return _error(404, f"unknown server {wanted!r}", servers=servers)
        snapshot = [c for c in self.source.snapshot() if wanted is None or c.server == wanted]
        return web.json_response({"calls": [c.as_dict() for c in snapshot],
                                  "count": len(snapshot), "servers": servers,
                                  "now": time.time()}, dumps=_dumps)

    async def call(self, request: web.Request) -> web.Response:
        """``GET /calls/{server}/{call_id}``: one call in flight, 404 if none."""
        server, call_id = request.match_info["server"], request.match_info["call_id"]
        for snap in self.source.snapshot():
            if snap.server == server and snap.call_id == call_id:
                return web.json_response(snap.as_dict(), dumps=_dumps)
        return _error(404, f"no call {call_id!r} in flight on server {server!r}",
                      servers=self.source.servers())

    def _trace(self, request: web.Request) -> dict[str, Any] | None:
        server, call_id = request.match_info["server"], request.match_info["call_id"]
        trace = self.histories.get(server, call_id)
        live = self.source.live_path(server, call_id)
        if trace is None and live is None:
            return None
        out: dict[str, Any] = (trace.as_dict() if trace is not None else
                               {"server": server, "call_id": call_id, "ended": False,
                                "truncated": False, "events": []})
        if live is not None:
            out["path"] = live  # the machine's own record beats our reading of the events
        out["in_flight"] = live is not None
        return out

    async def call_path(self, request: web.Request) -> web.Response:
        """``GET /calls/{server}/{call_id}/path``: its call events and machine path."""
        trace = self._trace(request)
        if trace is None:
            return _error(404, "no such call seen (or forgotten: only the last calls are kept)")
        return web.json_response(trace, dumps=_dumps)

    async def call_path_svg(self, request: web.Request) -> web.Response:
        """``GET /calls/{server}/{call_id}/path.svg``: the call machine, its path drawn."""
        trace = self._trace(request)
        if trace is None:
            return _error(404, "no such call seen (or forgotten: only the last calls are kept)")
        path = trace["path"]
        title = f"call {trace['call_id']}: " + (" → ".join(path) or "no call events yet")
        try:
            svg = await self.paths.svg(path, title)
        except DiagramUnavailable as err:
            return _error(503, str(err), path=path)
        return web.Response(body=svg, content_type="image/svg+xml",
                            headers={"Cache-Control": "no-cache"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """``GET /events``: the call events as Server-Sent Events."""
        return await stream_events(request, self.feed)

    def _in_flight(self) -> dict[str, int]:
        counts = dict.fromkeys(self.source.servers(), 0)
        for snap in self.source.snapshot():
            counts[snap.server] = counts.get(snap.server, 0) + 1
        return counts

    def _sse_figures(self) -> dict[str, int]:
        feed = self.feed
        return {"clients": feed.clients, "dropped_total": feed.dropped_total,
                "buffered": feed.buffered, "last_id": feed.last_seq}

    async def health(self, request: web.Request) -> web.Response:
        """``GET /health``: per-server health figures; 503 when a server is down."""
        servers = self.source.health()
        in_flight = self._in_flight()
        for name, count in in_flight.items():
            servers.setdefault(name, {}).setdefault("calls_in_flight", count)
        down = sorted(n for n, f in servers.items() if f.get("connected") is False)
        body = {"status": "degraded" if down else "ok", "down": down, "servers": servers,
                "events": self._sse_figures(), "ami_events": self.counters.ami_events,
                "hook_errors": self.counters.hook_errors}
        cluster = getattr(self.source, "cluster", None)
        if callable(cluster):  # listen --cluster: who follows which server
            body["cluster"] = cluster()
        return web.json_response(body, status=503 if down else 200, dumps=_dumps)

    async def metrics(self, request: web.Request) -> web.Response:
        """``GET /metrics``: Prometheus text format."""
        text = render(self.counters, self.source.health(), self._in_flight(),
                      self._sse_figures())
        response = web.Response(text=text)
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

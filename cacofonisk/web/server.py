"""Serving a LiveView on a TCP port beside a runner, in the runner's own loop.

Why the same loop: the managers run on the AmiRunner's event loop, and the
view reads their snapshots and feeds its SSE clients from the reporter's
calls; one loop needs no locks. Nothing the HTTP side does blocks that
loop: snapshot reads are in-memory, SSE writes go through bounded queues,
diagrams are drawn in a worker thread.

``cacofonisk listen --http`` and ``cacofonisk demo --http`` use
``serve_runner``; your own program can use ``HttpServer`` or mount
``LiveView.application()`` itself.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import sys
from typing import Any

from aiohttp import web

from ..errors import ConfigurationError
from .app import LiveView
from .options import HttpOptions, is_loopback

log = logging.getLogger(__name__)


class HttpServer:
    """One LiveView served on host:port until ``stop()``.

    Args:
        view: what to serve.
        host: the address to bind (127.0.0.1 unless a token protects the view).
        port: the port; 0 picks a free one (read ``port`` after ``start``).
    """

    def __init__(self, view: LiveView, host: str = "127.0.0.1", port: int = 0) -> None:
        self.view = view
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8088/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Bind and serve.

        Raises:
            ConfigurationError: the address cannot be bound (in use, not ours),
                or it is not a loopback address and the view has no token.
        """
        if self.view.token is None and not is_loopback(self.host):
            raise ConfigurationError(
                f"{self.host}:{self.port} is reachable from other machines: give the "
                f"LiveView a token (LiveView(token=...)) or bind 127.0.0.1")
        runner = web.AppRunner(self.view.application(), access_log=None,
                               shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            why = ("the address is in use" if err.errno == errno.EADDRINUSE
                   else err.strerror or str(err))
            raise ConfigurationError(f"--http {self.host}:{self.port}: cannot listen ({why})"
                                     ) from None
        self._runner = runner
        if runner.addresses:
            self.port = int(runner.addresses[0][1])
        log.info("HTTP API and call board on %s", self.url)

    async def stop(self) -> None:
        """End the event streams and stop serving."""
        self.view.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def announce(server: HttpServer, token: str | None) -> None:
    """Tell the user on stderr where the board is (never printing the token)."""
    how = " (needs the token: open /?token=... once)" if token else ""
    print(f"cacofonisk: call board and HTTP API on {server.url}{how}", file=sys.stderr,
          flush=True)


async def serve_runner(runner: Any, view: LiveView, options: HttpOptions) -> None:
    """Run ``runner`` (``run_async``, with signal handling) while serving ``view``.

    Raises:
        ConfigurationError: the HTTP address cannot be bound (before any
            AMI connection is made).
    """
    view.attach(runner)
    async with HttpServer(view, options.host, options.port) as server:
        announce(server, options.token)
        await runner.run_async(handle_signals=True)


def run_runner(runner: Any, view: LiveView, options: HttpOptions) -> None:
    """``serve_runner`` in a new event loop (what ``runner.run()`` is without HTTP)."""
    asyncio.run(serve_runner(runner, view, options))


async def start_for(runner: Any, view: LiveView, options: HttpOptions) -> HttpServer:
    """Attach ``view`` to ``runner`` and start serving it (``demo --http``);
    the caller stops the returned server."""
    view.attach(runner)
    server = HttpServer(view, options.host, options.port)
    await server.start()
    announce(server, options.token)
    return server

"""The live view: an HTTP API, Server-Sent Events, Prometheus metrics and a call board.

An adapter outside the pure core (it needs aiohttp: ``pip install
'cacofonisk[http]'``), imported only by code that asks for it:

* ``app.LiveView``: the aiohttp application, its reporter and wiring;
* ``server.HttpServer`` / ``server.serve_runner``: serving it beside a runner;
* ``feed`` (the bounded SSE feed), ``history`` (call events per call),
  ``paths`` (the path diagram), ``metrics``, ``sources``, ``sse``;
* ``options``: the ``--http`` command-line options (no aiohttp import).

``from cacofonisk.web import LiveView, HttpServer`` imports aiohttp then.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import LiveView
    from .server import HttpServer

__all__ = ["HttpServer", "LiveView"]


def __getattr__(name: str) -> Any:
    """Import the aiohttp parts on first use (``options`` must stay light)."""
    if name == "LiveView":
        from .app import LiveView
        return LiveView
    if name == "HttpServer":
        from .server import HttpServer
        return HttpServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Shared pieces of the web tests: a real manager fed with demo calls, and an
aiohttp client on a real loopback server."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from cacofonisk.commands.demo import answered_call
from cacofonisk.manager import ChannelManager
from cacofonisk.web.app import LiveView

#: how many events of ``answered_call`` bring it to "answered and bridged"
UP_AFTER = 10


def fed_manager(view: LiveView, calls: int, upto: int | None = UP_AFTER,
                server: str = "pbx1") -> ChannelManager:
    """A real ChannelManager reporting into ``view``, fed ``calls`` demo calls
    (each up to event ``upto``; None: the whole call, so it ends)."""
    manager = ChannelManager(reporter=view.wrap(), server=server, strict=True)
    for n in range(calls):
        for event in answered_call(n, system=server)[:upto]:
            manager.on_event(event)
    view.attach_managers([manager])
    return manager


@asynccontextmanager
async def client_for(view: LiveView) -> AsyncIterator[TestClient[Any, Any]]:
    """An HTTP client of ``view`` served on a free loopback port."""
    server = TestServer(view.application(), host="127.0.0.1", port=0)
    async with TestClient(server) as client:
        yield client


async def read_sse(response: ClientResponse, count: int,
                   timeout: float = 5.0) -> list[dict[str, str]]:
    """The next ``count`` SSE messages (comments and bare ``retry`` skipped),
    each as {field: value}; fewer if the stream ends."""
    messages: list[dict[str, str]] = []
    current: dict[str, str] = {}

    async def pump() -> None:
        nonlocal current
        while len(messages) < count:
            line = await response.content.readline()
            if not line:
                return
            text = line.decode().rstrip("\n")
            if text == "":
                if set(current) - {"retry"}:
                    messages.append(current)
                current = {}
            elif not text.startswith(":"):
                name, _, value = text.partition(": ")
                current[name] = value

    await asyncio.wait_for(pump(), timeout)
    return messages

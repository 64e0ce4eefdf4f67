"""A local webhook receiver (aiohttp) that can fail at random, for tests and bench/nats.py.

Why: delivery must survive receivers that answer 500, answer too late, or
drop the connection; this one does each at a chosen rate (seeded, so a
failing run can be repeated) and checks every request's Standard Webhooks
signature with the ``standardwebhooks`` package from PyPI, as a real
receiver would.
"""
from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web


@attrs.define(eq=False)
class Delivery:
    """One request the receiver accepted (answered 2xx, or slow mode: processed)."""

    msg_id: str
    body: dict[str, Any]
    received_at: float


@attrs.define(eq=False)
class WebhookReceiver:
    """POST endpoint at ``url``; ``deliveries`` in arrival order.

    Args:
        secret: ``whsec_...`` to verify signatures with (None: unsigned).
        fail / slow / drop: chances of a 500, of answering after
            ``slow_delay`` (the request is processed, the answer is late), and
            of closing the connection without an answer.
    """

    secret: str | None = None
    fail: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    slow_delay: float = 1.0
    seed: int = 1
    deliveries: list[Delivery] = attrs.field(factory=list)
    bad_signatures: int = 0
    answers: dict[str, int] = attrs.field(factory=dict)
    url: str = ""
    port: int = 0
    changed: asyncio.Event = attrs.field(factory=asyncio.Event)
    _random: random.Random = attrs.field(init=False)
    _runner: web.AppRunner | None = None

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def start(self) -> WebhookReceiver:
        """Listen on a free loopback port (the same one again after ``stop()``)."""
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        return self

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _count(self, what: str) -> None:
        self.answers[what] = self.answers.get(what, 0) + 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.secret is not None:
            from standardwebhooks.webhooks import Webhook
            try:
                Webhook(self.secret).verify(body, dict(request.headers))
            except Exception:  # noqa: BLE001 - any failure is a bad signature
                self.bad_signatures += 1
                self._count("401")
                return web.Response(status=401)
        roll = self._random.random()
        if roll < self.drop:
            self._count("drop")
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if roll < self.drop + self.fail:
            self._count("500")
            return web.Response(status=500, text="try again")
        self.deliveries.append(Delivery(request.headers.get("webhook-id", ""),
                                        json.loads(body), time.time()))
        self.changed.set()
        if roll < self.drop + self.fail + self.slow:
            self._count("slow")
            await asyncio.sleep(self.slow_delay)
        else:
            self._count("200")
        return web.Response(status=204)

    async def until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``done()`` (checked after each delivery) or the timeout."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass
        return True


def new_secret(seed: bytes = b"cacofonisk-test-secret-key-32byt") -> str:
    """A ``whsec_`` secret as Standard Webhooks tools make them."""
    return "whsec_" + base64.b64encode(seed).decode()

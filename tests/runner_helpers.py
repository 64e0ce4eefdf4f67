"""What the live-runner tests share: run an AmiRunner for the length of a
``with`` block, and wait for a condition the server side owns.

Four test modules used to carry their own copy of these two helpers.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from cacofonisk.runners.ami_runner import AmiRunner


@contextlib.asynccontextmanager
async def running(runner: AmiRunner, timeout: float) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``runner`` in a task; stop it at the end of the block and wait
    (at most ``timeout`` s) for it to end, re-raising what it raised."""
    task = asyncio.create_task(runner.run_async())
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(asyncio.shield(task), timeout)


async def eventually(predicate: Callable[[], bool], timeout: float, poll: float = 0.01) -> None:
    """Poll a condition owned by the server side (no callback to await)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(poll)

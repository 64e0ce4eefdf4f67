"""One live-benchmark client, in its own process, run by bench/live.py.

    python bench/live_client.py MODE PORT

MODE is one of:
  raw            a bare socket that only counts message ends (the floor)
  panoramisk     a bare panoramisk Manager with a '*' callback that counts
  runner         this project's AmiRunner + ChannelManager + a no-op reporter,
                 every event over the wire (server_filters=False)
  runner-filter  the same with its default AMI Filter (the server drops what
                 cacofonisk never reads)
  orig07         cacofonisk 0.7.10's AmiRunner + EventHandler + its no-op
                 BaseReporter (run with the 0.7.10 venv's python)

Each client connects, logs in, and stops at the closing UserEvent
(``UserEvent: CacofoniskBenchEnd``) that the server appends with
``BenchWire: N``, the number of events it wrote to this connection. The
client measures its own CPU time (``time.process_time()``) and wall time
from just before connecting to that event, so the server's work, in its
own process, is not counted. Prints one JSON object on the last line.

Only the project modes put the repository on sys.path; orig07 imports the
cacofonisk installed in its venv and checks it is 0.7.10.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
USER, SECRET = "bench", "bench-secret"
SENTINEL = "CacofoniskBenchEnd"
TIMEOUT = 600.0


def _is_end(message: Any) -> bool:
    return message.get("UserEvent") == SENTINEL


async def time_raw(port: int) -> int:
    """A bare socket that splits messages only: what the server and loopback deliver."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"Action: Login\r\nUsername: {USER}\r\nSecret: {SECRET}\r\n\r\n".encode())
    marker, count, tail = SENTINEL.encode(), 0, b""
    while True:
        data = await reader.read(1 << 16)
        if not data:
            raise SystemExit("live_client: the server closed the raw connection")
        data = tail + data
        count += data.count(b"\r\n\r\n")
        if marker in data:
            break
        tail = data[-len(marker):]
        count -= tail.count(b"\r\n\r\n")
    writer.close()
    return count - 2  # the login response and the server's FullyBooted


async def time_panoramisk(port: int) -> int:
    """A bare panoramisk Manager with a '*' callback: the floor of any panoramisk client."""
    import panoramisk

    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_event(manager: Any, message: Any) -> None:
        if message.get("UserEvent") == SENTINEL and not done.done():
            done.set_result(int(message.get("BenchWire") or 0))

    manager = panoramisk.Manager(loop=asyncio.get_running_loop(), host="127.0.0.1", port=port,
                                 username=USER, secret=SECRET, ping_delay=3600,
                                 reconnect_timeout=3600)
    manager.register_event("*", on_event)
    await manager.connect()
    wire = await done
    manager.close()
    return wire


async def time_runner(port: int, server_filters: bool) -> int:
    """This project's AmiRunner + ChannelManager + a reporter that ignores everything."""
    sys.path.insert(0, str(ROOT))
    from cacofonisk.reporters.base import BaseReporter
    from cacofonisk.runners.ami_runner import AmiRunner

    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class NoOp(BaseReporter):  # type: ignore[misc]
        """Notices the end only (on_event stays BaseReporter's no-op, which the
        manager skips, as for a real reporter that ignores it)."""

        def on_user_event(self, event: Any) -> None:
            if event.get("UserEvent") == SENTINEL and not done.done():
                done.set_result(int(event.get("BenchWire") or 0))

    runner = AmiRunner({"host": "127.0.0.1", "port": port, "username": USER,
                        "password": SECRET, "name": "bench"}, NoOp(),
                       server_filters=server_filters, ping_interval=3600)
    task = asyncio.create_task(runner.run_async())
    finished, _ = await asyncio.wait({done, task}, return_when=asyncio.FIRST_COMPLETED)
    runner.stop()
    await task
    if done not in finished:
        raise SystemExit("live_client: the runner stopped before the end of the stream")
    return done.result()


def time_orig07(port: int) -> int:
    """cacofonisk 0.7.10's AmiRunner, as its users run it (its own loop)."""
    import importlib.metadata

    version = importlib.metadata.version("cacofonisk")
    if version != "0.7.10":
        raise SystemExit(f"live_client: orig07 needs cacofonisk 0.7.10, found {version}")
    from cacofonisk.reporters import BaseReporter
    from cacofonisk.runners.ami_runner import AmiRunner

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    done: asyncio.Future[int] = loop.create_future()

    def on_end(manager: Any, message: Any) -> None:
        if message.get("UserEvent") == SENTINEL and not done.done():
            done.set_result(int(message.get("BenchWire") or 0))

    runner = AmiRunner([f"tcp://{USER}:{SECRET}@127.0.0.1:{port}"], BaseReporter())
    runner.attach_all()
    for manager in runner.ami_managers:
        # Ahead of 0.7.10's own UserEvent handler, which may reject the
        # channel-less closing event (it would then drop the connection).
        manager.register_event("UserEvent", on_end)
        callbacks = manager.callbacks["UserEvent"]
        callbacks.insert(0, callbacks.pop())
    try:
        return loop.run_until_complete(asyncio.wait_for(done, TIMEOUT))
    finally:
        for manager in runner.ami_managers:
            manager.close()
        loop.close()


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    root = logging.getLogger()
    root.handlers[:] = [logging.NullHandler()]
    root.setLevel(logging.WARNING)
    # Imports first, so that only the connection is timed.
    if mode == "orig07":
        import cacofonisk.runners.ami_runner  # noqa: F401
        import panoramisk  # noqa: F401
    elif mode != "raw":
        import panoramisk  # noqa: F401
        if mode.startswith("runner"):
            sys.path.insert(0, str(ROOT))
            import cacofonisk.runners.ami_runner  # noqa: F401,F811
    cpu, wall = time.process_time(), time.perf_counter()
    if mode == "raw":
        wire = asyncio.run(asyncio.wait_for(time_raw(port), TIMEOUT))
    elif mode == "panoramisk":
        wire = asyncio.run(asyncio.wait_for(time_panoramisk(port), TIMEOUT))
    elif mode in ("runner", "runner-filter"):
        wire = asyncio.run(asyncio.wait_for(time_runner(port, mode == "runner-filter"),
                                            TIMEOUT))
    elif mode == "orig07":
        wire = time_orig07(port)
    else:
        raise SystemExit(f"live_client: unknown mode {mode!r}")
    result = {"mode": mode, "cpu_seconds": time.process_time() - cpu,
              "seconds": time.perf_counter() - wall, "wire": wire}
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

"""Live throughput: AMI events per second over a real TCP connection.

    python bench/live.py [--copies K] [--in-flight W] [--noise N] [--repeat R]

Builds one large AMI 2 stream from the recorded logs in ../shared/conformance
(K copies of every log with ids unique per copy, W copies in flight at once;
see streams.py; the default is about 200,000 events) and serves it from the
AMI test server (cacofonisk.testing.ami_server) in a separate process, so
the server's CPU is not the client's. Then it times, side by side, each in
a fresh connection:

* ``raw socket``: a bare socket that only counts message ends: what the
  server and the loopback deliver, so a row near it would mean the server,
  not the client, is the limit;
* ``panoramisk alone``: a bare panoramisk Manager with a '*' callback that
  counts: the floor any panoramisk-based listener pays (socket, parsing);
* ``AmiRunner, no server filter``: AmiRunner + the real ChannelManager + a
  no-op reporter, every event over the wire (``server_filters=False``);
* ``AmiRunner (server Filter)``: the same with its default AMI ``Filter``,
  so Asterisk (here: the test server) drops the events cacofonisk never
  reads. The recorded AMI 2 logs hold none of those (they were filtered
  when recorded), so this row only pays the server's regex, unless
  ``--noise N`` adds N VarSet + N Newexten per channel event, as a busy
  dialplan sends.

Each time runs from connect to the arrival of a closing UserEvent appended
to the stream; ``events/s`` is the stream's length over that time (for the
filtered run too, so the rows compare like for like), ``wire`` the events
that actually crossed the socket.

Why a bulk replay: the test server's normal replay yields to the loop after
every event (to pace and interleave tests), which costs as much as parsing
it; here the server renders every event once up front and writes them in
64 KiB chunks, still through its own login, Filter and action handling.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import streams  # noqa: E402

from cacofonisk.testing.ami_server import AmiTestServer, format_block  # noqa: E402

USER, SECRET = "bench", "bench-secret"
SENTINEL = "CacofoniskBenchEnd"
#: About 200,000 events: 90 copies of the 27 AMI 2 logs (2,237 events a copy).
DEFAULT_COPIES = 90
DEFAULT_WINDOW = 50


# -- the server (its own process) ---------------------------------------------------

class BulkServer(AmiTestServer):
    """The AMI test server with a replay that writes pre-rendered events in
    large chunks (filters still apply, per client)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._blocks = [format_block(e) for e in self.events if "Event" in e]
        self._texts = [b.decode("utf-8") for b in self._blocks]

    async def _replay(self, session: Any, replay: Any) -> None:
        writer = session.writer
        chunk: list[bytes] = []
        size = 0
        for block, text in zip(self._blocks, self._texts):
            # Filters apply from when they arrive, as in Asterisk: the first
            # chunks, written before the client's Filter action, pass whole.
            if session.filters and session._filtered_out(text):
                continue
            chunk.append(block)
            size += len(block)
            if size >= 65536:
                writer.write(b"".join(chunk))
                chunk, size = [], 0
                await writer.drain()
        writer.write(b"".join(chunk))
        await writer.drain()
        replay.position = len(self.events)


def serve(events: list[dict[str, Any]], port_pipe: Any) -> None:
    """Process entry point: serve ``events`` to every login until killed."""
    async def main() -> None:
        async with BulkServer(events, username=USER, secret=SECRET, resume=False) as srv:
            port_pipe.send(srv.port)
            await asyncio.Event().wait()
    asyncio.run(main())


# -- the clients ------------------------------------------------------------------------

async def time_raw(port: int) -> tuple[float, int]:
    """Seconds to the sentinel through a bare socket that only splits messages:
    what the server and the loopback can deliver (the ceiling of the table)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"Action: Login\r\nUsername: {USER}\r\nSecret: {SECRET}\r\n\r\n".encode())
    marker, count, tail = SENTINEL.encode(), 0, b""
    while True:
        data = await reader.read(1 << 16)
        if not data:
            raise SystemExit("bench: the server closed the raw connection")
        data = tail + data
        count += data.count(b"\r\n\r\n")
        if marker in data:
            break
        tail = data[-len(marker):]
        count -= tail.count(b"\r\n\r\n")
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed, count - 2  # the login response and the server's FullyBooted


async def time_panoramisk(port: int) -> tuple[float, int]:
    """Seconds to the sentinel and events received, through a bare panoramisk."""
    import panoramisk

    done = asyncio.get_running_loop().create_future()
    count = 0

    def on_event(manager: Any, message: Any) -> None:
        nonlocal count
        count += 1
        if message.get("UserEvent") == SENTINEL and not done.done():
            done.set_result(None)

    manager = panoramisk.Manager(loop=asyncio.get_running_loop(), host="127.0.0.1", port=port,
                                 username=USER, secret=SECRET, ping_delay=3600,
                                 reconnect_timeout=3600)
    manager.register_event("*", on_event)
    started = time.perf_counter()
    await manager.connect()
    await done
    elapsed = time.perf_counter() - started
    manager.close()
    return elapsed, count


async def time_runner(port: int, server_filters: bool) -> tuple[float, int]:
    """Seconds to the sentinel and events applied, through AmiRunner + ChannelManager."""
    from cacofonisk.reporters.base import BaseReporter
    from cacofonisk.runners.ami_runner import AmiRunner

    done = asyncio.get_running_loop().create_future()

    class NoOp(BaseReporter):
        """Does nothing but notice the end (on_event is left a no-op, so the
        manager skips it as it would for a real reporter that ignores it)."""

        def on_user_event(self, event: Any) -> None:
            if event.get("UserEvent") == SENTINEL and not done.done():
                done.set_result(None)

    runner = AmiRunner({"host": "127.0.0.1", "port": port, "username": USER,
                        "password": SECRET, "name": "bench"}, NoOp(),
                       server_filters=server_filters, ping_interval=3600)
    started = time.perf_counter()
    task = asyncio.create_task(runner.run_async())
    waiting = await asyncio.wait({done, task}, return_when=asyncio.FIRST_COMPLETED)
    elapsed = time.perf_counter() - started
    runner.stop()
    await task
    if done not in waiting[0]:
        raise SystemExit("bench: the runner stopped before the end of the stream")
    wire = _wire_count(runner)
    return elapsed, wire


def _wire_count(runner: Any) -> int:
    """Events the runner received (read from its link; the bench may peek)."""
    return getattr(runner._links[0], "bench_count", 0)


def _count_wire() -> None:
    """Count the events that reach AmiRunner's links (the ``wire`` column),
    at the cost of one extra call per event: well under 1 % of the time."""
    from cacofonisk.runners import ami_runner

    original = ami_runner._Link._receive

    def counting(self: Any, message: Any) -> None:
        self.bench_count = getattr(self, "bench_count", 0) + 1
        original(self, message)

    ami_runner._Link._receive = counting


# -- main ---------------------------------------------------------------------------------

def add_noise(stream: list[dict[str, Any]], per_event: int) -> list[dict[str, Any]]:
    """Put ``per_event`` VarSet and Newexten events after each channel event:
    the dialplan chatter of a busy real server (the recorded AMI 2 logs were
    already filtered; the AMI 1 ones are 78 % VarSet/Newexten)."""
    if per_event <= 0:
        return stream
    noisy: list[dict[str, Any]] = []
    for event in stream:
        noisy.append(event)
        uid, channel = event.get("Uniqueid"), event.get("Channel")
        if not uid or not channel:
            continue
        for n in range(per_event):
            common = {"Privilege": "dialplan,all", "Channel": channel, "Uniqueid": uid,
                      "Linkedid": event.get("Linkedid", uid), "Context": "internal",
                      "Exten": "s", "Priority": str(n + 1)}
            noisy.append({"Event": "VarSet", **common, "Variable": f"BENCH_{n}",
                          "Value": "x" * 16})
            noisy.append({"Event": "Newexten", **common, "Application": "Set",
                          "AppData": f"BENCH_{n}=xxxxxxxxxxxxxxxx"})
    return noisy


def build_stream(copies: int, window: int, noise: int = 0) -> list[dict[str, Any]]:
    templates = streams.load_templates("ami2")
    stream, _ = streams.build(templates, copies, window)
    stream = add_noise(stream, noise)
    stream.append({"Event": "UserEvent", "Privilege": "user,all", "UserEvent": SENTINEL})
    return stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES,
                        help=f"copies of every AMI 2 log (default {DEFAULT_COPIES})")
    parser.add_argument("--in-flight", type=int, default=DEFAULT_WINDOW,
                        help=f"copies in flight at once (default {DEFAULT_WINDOW})")
    parser.add_argument("--noise", type=int, default=0, metavar="N",
                        help="add N VarSet + N Newexten events after every channel event "
                             "(a busy server's dialplan chatter; default 0)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; best is shown")
    args = parser.parse_args()

    stream = build_stream(args.copies, args.in_flight, args.noise)
    print(f"bench: {len(stream):,} AMI 2 events ({args.copies} copies of the "
          f"conformance logs, {args.in_flight} in flight, noise {args.noise}); "
          f"server in pid ", end="",
          file=sys.stderr, flush=True)
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("fork").Process(target=serve, args=(stream, send),
                                                          daemon=True)
    server.start()
    print(server.pid, file=sys.stderr, flush=True)
    port = receive.recv()
    _count_wire()
    rows: list[tuple[str, float, int]] = []
    try:
        modes = [("raw socket (ceiling)", lambda: time_raw(port)),
                 ("panoramisk alone", lambda: time_panoramisk(port)),
                 ("AmiRunner, no server filter", lambda: time_runner(port, False)),
                 ("AmiRunner (server Filter)", lambda: time_runner(port, True))]
        for label, make in modes:
            times, wire = [], 0
            for _ in range(args.repeat):
                elapsed, wire = asyncio.run(make())
                times.append(elapsed)
            rows.append((label, min(times), wire))
            print(f"  {label}: {', '.join(f'{t:.2f}s' for t in times)}", file=sys.stderr,
                  flush=True)
    finally:
        server.kill()
        server.join()

    floor = rows[1][1]
    print(f"\n{'':28} {'events/s':>10} {'seconds':>8} {'wire':>9} {'vs panoramisk':>14}")
    for label, best, wire in rows:
        print(f"{label:28} {len(stream) / best:>10,.0f} {best:>8.2f} {wire:>9,} "
              f"{best / floor:>13.2f}x")
    print(f"\n{len(stream):,} events; best of {args.repeat}; python "
          f"{sys.version.split()[0]}; {os.cpu_count()} CPUs; seconds from connect to the "
          f"last event")


if __name__ == "__main__":
    main()

"""Live path: client CPU per AMI event over a real TCP connection, against 0.7.10.

    python bench/live.py [--copies K] [--in-flight W] [--noise N] [--repeat R]

Builds one large AMI 2 stream (K copies of every log with ids unique per
copy, W copies in flight at once; see streams.py: the recordings in
../shared/conformance when present, else the project's simulated calls,
which the first output line says loudly; the default is about 200,000
events on the recordings) and serves it from the AMI test server
(cacofonisk.testing.ami_server) in a process of its own. Each client runs
in a fresh process of its own too (live_client.py), connects, and measures
its own CPU time until the closing event, so neither the server's work nor
another client's counts:

* ``raw socket``: a bare socket that only counts message ends: what the
  server and the loopback deliver (the floor);
* ``panoramisk alone``: a bare panoramisk Manager with a '*' callback that
  counts: what any panoramisk-based client pays (socket, parsing);
* ``AmiRunner, no server filter``: this project's AmiRunner + ChannelManager
  + a no-op reporter, every event over the wire (``server_filters=False``);
* ``AmiRunner (server Filter)``: the same with its default AMI ``Filter``,
  so Asterisk (here: the test server) drops the events cacofonisk never
  reads; the recorded AMI 2 logs hold few of those, so this row differs
  only with ``--noise N``, which adds N VarSet + N Newexten per channel
  event, as a busy dialplan sends;
* ``0.7.10 AmiRunner``: the original's AmiRunner + EventHandler + its no-op
  BaseReporter, from its own venv (bench/.venvs, made by run.py), on the
  same stream from the same server in the same run.

The rows take turns (every row once, then again, R times), so the drift of
a shared machine touches every row alike; the table shows the median and
the best CPU time. ``µs/event`` is client CPU time over the stream's length
(for the filtered run too, so rows compare like for like); ``wire`` is the
events the server actually wrote to that client.

Why a bulk replay: the test server's normal replay yields to the loop after
every event (to pace and interleave tests), which costs as much as parsing
it; here the server renders every event once up front and writes them in
64 KiB chunks, still through its own login, Filter and action handling.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import simlogs  # noqa: E402
import streams  # noqa: E402
from live_client import SECRET, SENTINEL, USER  # noqa: E402

from cacofonisk.testing.ami_server import AmiTestServer, format_block  # noqa: E402

#: About 200,000 events on the recordings: 90 copies of the 27 AMI 2 logs.
DEFAULT_COPIES = 90
DEFAULT_WINDOW = 50
ORIGINAL = "0.7.10"


# -- the server (its own process) ---------------------------------------------------

class BulkServer(AmiTestServer):
    """The AMI test server with a replay that writes pre-rendered events in
    large chunks (filters still apply, per client); the closing event says
    how many events this client was sent (``BenchWire``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._blocks = [format_block(e) for e in self.events[:-1] if "Event" in e]
        self._texts = [b.decode("utf-8") for b in self._blocks]

    async def _replay(self, session: Any, replay: Any) -> None:
        writer = session.writer
        chunk: list[bytes] = []
        size = sent = 0
        for block, text in zip(self._blocks, self._texts):
            # Filters apply from when they arrive, as in Asterisk: the first
            # chunks, written before the client's Filter action, pass whole.
            if session.filters and session._filtered_out(text):
                continue
            chunk.append(block)
            sent += 1
            size += len(block)
            if size >= 65536:
                writer.write(b"".join(chunk))
                chunk, size = [], 0
                await writer.drain()
        chunk.append(format_block({**self.events[-1], "BenchWire": str(sent)}))
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


# -- the clients (each its own process) ---------------------------------------------------

def run_client(python: str, mode: str, port: int) -> dict[str, Any]:
    """Run live_client.py once; return its result (or why it failed)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([python, str(BENCH / "live_client.py"), mode, str(port)],
                          capture_output=True, text=True, env=env, cwd="/", check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"mode": mode, "error": f"exit {proc.returncode}: {' | '.join(tail)}"}
    return dict(json.loads(lines[-1]))


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


ROWS = (("raw socket (floor)", "raw"), ("panoramisk alone", "panoramisk"),
        ("AmiRunner, no server filter", "runner"), ("AmiRunner (server Filter)", "runner-filter"),
        (f"{ORIGINAL} AmiRunner", "orig07"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES,
                        help=f"copies of every AMI 2 log (default {DEFAULT_COPIES})")
    parser.add_argument("--in-flight", type=int, default=DEFAULT_WINDOW,
                        help=f"copies in flight at once (default {DEFAULT_WINDOW})")
    parser.add_argument("--noise", type=int, default=0, metavar="N",
                        help="add N VarSet + N Newexten events after every channel event "
                             "(a busy server's dialplan chatter; default 0)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per row, in turns; median and best are shown")
    parser.add_argument("--no-originals", action="store_true",
                        help=f"leave out the {ORIGINAL} row (no venv, no network)")
    args = parser.parse_args()

    simlogs.ensure()
    rows = [row for row in ROWS if not (args.no_originals and row[1] == "orig07")]
    pythons = {mode: sys.executable for _, mode in rows}
    if not args.no_originals:
        import run  # the venvs of the originals are made there
        original = run.venv_python(ORIGINAL)
        if original is None:
            rows = [row for row in rows if row[1] != "orig07"]
            print(f"bench: {ORIGINAL} could not be installed: its row is left out",
                  file=sys.stderr)
        else:
            pythons["orig07"] = str(original)

    stream = build_stream(args.copies, args.in_flight, args.noise)
    print(f"bench: {len(stream):,} AMI 2 events ({args.copies} copies of "
          f"{len(streams.log_paths('ami2'))} logs, {args.in_flight} in flight, "
          f"noise {args.noise}); server in pid ", end="", file=sys.stderr, flush=True)
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("fork").Process(target=serve, args=(stream, send),
                                                          daemon=True)
    server.start()
    print(server.pid, file=sys.stderr, flush=True)
    port = receive.recv()
    results: dict[str, list[dict[str, Any]]] = {mode: [] for _, mode in rows}
    try:
        for turn in range(args.repeat):
            for label, mode in rows:
                result = run_client(pythons[mode], mode, port)
                results[mode].append(result)
                print(f"  turn {turn + 1}, {label}: " + (
                    f"{result['cpu_seconds']:.2f}s cpu, {result['seconds']:.2f}s wall"
                    if "error" not in result else result["error"]),
                    file=sys.stderr, flush=True)
    finally:
        server.kill()
        server.join()
    print(table(rows, results, len(stream), args))


def table(rows: Any, results: dict[str, list[dict[str, Any]]], events: int,
          args: Any) -> str:
    """The results: CPU per event (median and best), events/s, wire, ratios."""
    median: dict[str, float] = {}
    lines = ["", f"== live AMI 2 ({'recordings' if streams.using_recordings() else 'SIMULATED'}"
             f" logs): {events:,} events, client CPU time from connect to the last event",
             f"{'':30} {'µs/event':>9} {'(best)':>7} {'events/s':>10} {'wall s':>7} "
             f"{'wire':>9}"]
    for label, mode in rows:
        good = [r for r in results[mode] if "error" not in r]
        if not good:
            lines.append(f"{label:30} failed: {results[mode][0]['error'][:100]}")
            continue
        cpu = statistics.median(r["cpu_seconds"] for r in good)
        best = min(r["cpu_seconds"] for r in good)
        median[mode] = cpu
        lines.append(f"{label:30} {cpu / events * 1e6:>9.2f} {best / events * 1e6:>7.2f} "
                     f"{events / cpu:>10,.0f} "
                     f"{statistics.median(r['seconds'] for r in good):>7.2f} "
                     f"{good[0]['wire']:>9,}")
    if "orig07" in median:
        for label, mode in rows[2:4]:
            if mode in median:
                lines.append(f"ratio {label} / {ORIGINAL}: {median['orig07'] / median[mode]:.2f}x "
                             f"less CPU per event (medians)")
    lines.append(f"median and best of {args.repeat} runs taken in turns; python "
                 f"{sys.version.split()[0]}; {os.cpu_count()} CPUs")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""``cacofonisk demo``: a whole live pipeline on this machine, no Asterisk needed.

Starts the AMI test server (``cacofonisk.testing.ami_server``) on 127.0.0.1,
on a free port, with a username and secret made up for this run; it replays
a call scenario as Asterisk would send it. An AmiRunner logs in over TCP,
exactly as ``cacofonisk listen`` would, and prints the call events. The demo
ends once the whole scenario was replayed and its calls ended (or after
``--seconds``).

    cacofonisk demo                              # a blind transfer, in about 3 s
    cacofonisk demo --scenario attended_transfer --format jsonl
    cacofonisk demo --scenario recording.json --rate 200
    cacofonisk demo --http 127.0.0.1:8088        # the call board at http://127.0.0.1:8088/

The scenario: an event log FILE, or a flow NAME, looked up as
``scenarios/ami2/NAME.json`` of a source checkout, else built in memory by
the scenario simulator (``cacofonisk.testing.scenarios``); when neither is
available the default is a small answered call written into this module.
"""
from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..manager import ChannelManager
from ..reporters.base import BaseReporter
from ..web import options as http_options
from .listen import build_reporter
from .malformed import MalformedEvents
from .record_path import check_record_path

DEFAULT_SCENARIO = "blind_transfer"
#: How long the default rate takes for a whole scenario: long enough to watch.
DEFAULT_DURATION = 3.0
#: The same with ``--http``: slow enough to watch the board.
HTTP_DURATION = 30.0
#: Where a source checkout keeps the bundled scenarios.
CHECKOUT_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "ami2"


def answered_call(n: int = 0, caller: tuple[str, str] = ("201", "Alice"),
                  callee: tuple[str, str] = ("202", "Bob"),
                  system: str = "demo") -> list[dict[str, str]]:
    """A tiny AMI 2 call, A dials B, B answers, A hangs up, as Asterisk 22
    sends it (trimmed to the headers cacofonisk reads).

    Why it is here: the demo must work from an installed package, with no
    scenario files and no simulator; tests also use it to build several
    calls with distinct ids (``n``).
    """
    a_uid, b_uid = f"{system}-1700000000.{2 * n}", f"{system}-1700000000.{2 * n + 1}"
    a_chan, b_chan = f"PJSIP/{caller[0]}-{2 * n:08x}", f"PJSIP/{callee[0]}-{2 * n + 1:08x}"
    bridge = f"{system}-bridge-{n:04d}"

    def a(event: str, state: str, **more: str) -> dict[str, str]:
        return {"Event": event, "Privilege": "call,all", "SystemName": system,
                "Channel": a_chan, "ChannelState": state,
                "ChannelStateDesc": {"4": "Ring", "6": "Up"}[state],
                "CallerIDNum": caller[0], "CallerIDName": caller[1],
                "ConnectedLineNum": callee[0] if state == "6" else "<unknown>",
                "ConnectedLineName": callee[1] if state == "6" else "<unknown>",
                "Language": "en", "AccountCode": "", "Context": "internal",
                "Exten": callee[0], "Priority": "2", "Uniqueid": a_uid,
                "Linkedid": a_uid, **more}

    def b(event: str, state: str, **more: str) -> dict[str, str]:
        return {"Event": event, "Privilege": "call,all", "SystemName": system,
                "Channel": b_chan, "ChannelState": state,
                "ChannelStateDesc": {"0": "Down", "5": "Ringing", "6": "Up"}[state],
                "CallerIDNum": callee[0], "CallerIDName": callee[1],
                "ConnectedLineNum": caller[0], "ConnectedLineName": caller[1],
                "Language": "en", "AccountCode": "", "Context": "internal",
                "Exten": callee[0], "Priority": "1", "Uniqueid": b_uid,
                "Linkedid": a_uid, **more}

    def dest(state: str) -> dict[str, str]:
        return {f"Dest{k}": v for k, v in b("", state).items()
                if k not in ("Event", "Privilege", "SystemName")}

    def bridged(event: str, side: dict[str, str], count: str) -> dict[str, str]:
        return {**side, "Event": event, "BridgeUniqueid": bridge, "BridgeType": "basic",
                "BridgeTechnology": "simple_bridge", "BridgeNumChannels": count}

    bridge_only = {"Privilege": "call,all", "SystemName": system, "BridgeUniqueid": bridge,
                   "BridgeType": "basic", "BridgeTechnology": "simple_bridge",
                   "BridgeNumChannels": "0"}
    return [
        a("Newchannel", "4", Priority="1"),
        b("Newchannel", "0", Exten="s", ConnectedLineNum="<unknown>",
          ConnectedLineName="<unknown>"),
        a("DialBegin", "4", **dest("0"), DialString=callee[0]),
        b("Newstate", "5"),
        b("Newstate", "6"),
        a("DialEnd", "4", **dest("6"), DialStatus="ANSWER"),
        a("Newstate", "6"),
        {"Event": "BridgeCreate", **bridge_only},
        bridged("BridgeEnter", b("", "6"), "1"),
        bridged("BridgeEnter", a("", "6"), "2"),
        a("HangupRequest", "6", Cause="16"),
        bridged("BridgeLeave", a("", "6"), "1"),
        bridged("BridgeLeave", b("", "6"), "0"),
        {"Event": "BridgeDestroy", **bridge_only},
        a("Hangup", "6", Cause="16", **{"Cause-txt": "Normal Clearing"}),
        b("Hangup", "6", Cause="16", **{"Cause-txt": "Normal Clearing"}),
    ]


def _simulator() -> tuple[Callable[..., Any], Callable[[str], list[str]]] | None:
    """The scenario simulator's ``build`` and ``flow_names``, if this install has it."""
    try:
        from ..testing.scenarios import build, flow_names
    except ImportError:
        return None
    return build, flow_names


def load_scenario(spec: str) -> tuple[str, list[Mapping[str, Any]]]:
    """(a label, the events) for ``--scenario``: a file, a checkout's
    ``scenarios/ami2/NAME.json``, a simulated flow, or the built-in call.

    Raises:
        ConfigurationError: a file that is not an event log, or an unknown flow.
    """
    from ..runners.file_runner import load_events

    path = Path(spec)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise ConfigurationError(f"no such event log: {spec}")
        return str(path), load_events(path)
    bundled = CHECKOUT_SCENARIOS / f"{spec}.json"
    if bundled.is_file():
        return str(bundled), load_events(bundled)
    simulator = _simulator()
    if simulator is not None:
        build, flow_names = simulator
        try:
            return f"{spec} (simulated)", list(build(spec, "ami2").events)
        except KeyError:
            raise ConfigurationError(
                f"unknown scenario {spec!r}: give an event log FILE or one of "
                f"{', '.join(flow_names('ami2'))}") from None
    if spec == DEFAULT_SCENARIO:
        built_in: list[Mapping[str, Any]] = list(answered_call())
        return "an answered call (built in)", built_in
    raise ConfigurationError(f"unknown scenario {spec!r}: give an event log FILE")


class _Progress(BaseReporter):
    """Counts the log's events the manager has applied that it consumes
    (``expected_events``): all but the FullyBooted the test server sends at
    login, before the log. Other events reach it too when the user's
    reporter records raw events (``--record``); they are not counted."""

    #: counting needs no skipped event (reporters.base.sees_raw_events)
    wants_every_event = False

    def __init__(self) -> None:
        self.applied = 0
        self.changed = asyncio.Event()
        self._login_seen = False
        self._wanted = {n.lower() for n in ChannelManager.INTERESTING_EVENTS}

    def on_event(self, event: Any) -> None:
        name = str(event.get("Event", ""))
        if not self._login_seen and name == "FullyBooted":
            self._login_seen = True
        elif name.lower() in self._wanted:
            self.applied += 1
        self.changed.set()


def expected_events(events: Sequence[Mapping[str, Any]]) -> int:
    """How many of ``events`` reach the manager (the runner passes only the
    names the manager consumes)."""
    wanted = {n.lower() for n in ChannelManager.INTERESTING_EVENTS}
    return sum(1 for e in events if str(e.get("Event", "")).lower() in wanted)


async def run_demo(events: Sequence[Mapping[str, Any]], reporter: Any, rate: float | None,
                   seconds: float | None = None, handle_signals: bool = False,
                   label: str = "", announce: bool = True,
                   serve: Callable[[Any], Awaitable[Any]] | None = None) -> str:
    """Serve ``events`` on loopback and follow them with an AmiRunner into
    ``reporter`` (closed at the end).

    With ``serve`` (``--http``), ``serve(runner)`` starts the HTTP server
    beside the runner; the demo then keeps serving after the scenario
    completed, until SIGINT/SIGTERM or ``seconds``.

    Returns:
        'completed' (every event applied and no call in flight), 'timeout'
        (``seconds`` ran out first) or 'stopped' (SIGINT/SIGTERM, with
        ``handle_signals``).
    """
    from ..reporters import MultiReporter
    from ..runners.ami_runner import AmiRunner
    from ..testing.ami_server import AmiTestServer

    username = f"demo-{secrets.token_hex(3)}"
    secret = secrets.token_urlsafe(18)  # never printed: the demo is its only user
    progress = _Progress()
    want = expected_events(events)
    async with AmiTestServer(list(events), username=username, secret=secret,
                             host="127.0.0.1", port=0, rate=rate, restamp=True) as srv:
        if announce:
            pace = f"at {rate:g} events/s" if rate else "as fast as possible"
            print(f"cacofonisk demo: AMI test server on {srv.host}:{srv.port} (user "
                  f"{username}) replays {label or 'a scenario'}: {len(events)} events "
                  f"{pace}", file=sys.stderr, flush=True)
        runner = AmiRunner({"host": srv.host, "port": srv.port, "username": username,
                            "password": secret, "name": "demo"},
                           MultiReporter([reporter, progress]), reconnect_delay=0.1)
        (manager,) = runner.channel_managers
        served = None if serve is None else await serve(runner)
        task = asyncio.create_task(runner.run_async(handle_signals=handle_signals))
        deadline = None if seconds is None else time.monotonic() + seconds
        outcome = "stopped"
        try:
            while not task.done():
                if progress.applied >= want and not manager.calls:
                    outcome = "completed"
                    break
                progress.changed.clear()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    outcome = "timeout"
                    break
                waiter = asyncio.create_task(progress.changed.wait())
                await asyncio.wait({waiter, task}, timeout=left,
                                   return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            if served is not None and outcome == "completed":  # the board stays up
                left = None if deadline is None else max(deadline - time.monotonic(), 0)
                await asyncio.wait({task}, timeout=left)
        finally:
            runner.stop()
            await task  # re-raises AuthenticationFailed and the like
            if served is not None:
                await served.stop()
    return outcome


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("demo", help="replay a call over a local AMI test server and "
                            "follow it live (no Asterisk needed)", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|FILE",
                        help=f"flow name or event log (default: {DEFAULT_SCENARIO})")
    parser.add_argument("--rate", type=float, default=None, metavar="N",
                        help="events per second (default: the whole scenario in about "
                             f"{DEFAULT_DURATION:g} s; 0: as fast as possible)")
    parser.add_argument("--seconds", type=float, default=None, metavar="S",
                        help="stop after S seconds even if the scenario is not over")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="call events on stdout as text lines or JSON lines")
    parser.add_argument("--record", metavar="FILE", help="also record the AMI events")
    http_options.add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """0 when the scenario completed, --seconds ran out, or a signal stopped
    it; 1 when it did not complete within a generous safety limit, or when
    malformed events were dropped (each is a warning line on stderr)."""
    if args.rate is not None and not args.rate >= 0:  # also refuses nan
        raise ConfigurationError(f"--rate {args.rate:g}: give events per second, at least 0 "
                                 f"(0: as fast as possible)")
    if args.seconds is not None and not args.seconds > 0:
        raise ConfigurationError(f"--seconds {args.seconds:g}: give a time above 0")
    label, events = load_scenario(args.scenario)
    if args.record:
        check_record_path(args.record, [args.scenario] if Path(args.scenario).is_file() else [])
    http = http_options.from_args(args)
    if args.rate is None:
        rate: float | None = (max(10.0, len(events) / DEFAULT_DURATION) if http is None
                              else max(1.0, len(events) / HTTP_DURATION))
    else:
        rate = args.rate if args.rate > 0 else None
    reporter, out = build_reporter(args.format, args.record, show_server=False)
    view = None if http is None else http_options.live_view(http)
    seconds = args.seconds
    limit: float | None = None  # with --http: serve until stopped
    if seconds is None and http is None:  # a safety net, far beyond what the scenario needs
        limit = 30.0 + (len(events) / rate if rate else 0.0)
    with MalformedEvents("demo") as malformed:
        outcome = asyncio.run(_main(events, reporter if view is None else view.wrap(reporter),
                                    out, rate, seconds if seconds is not None else limit, label,
                                    None if http is None else http_options.server_starter(view,
                                                                                          http)))
    if malformed.count:
        print(malformed.summary(), file=sys.stderr)
        return 1
    if outcome == "timeout" and seconds is None:
        print("cacofonisk demo: the scenario did not complete", file=sys.stderr)
        return 1
    return 0


async def _main(events: Sequence[Mapping[str, Any]], reporter: Any, out: Any,
                rate: float | None, seconds: float | None, label: str,
                serve: Callable[[Any], Awaitable[Any]] | None = None) -> str:
    main = asyncio.current_task()
    assert main is not None
    out.on_broken_pipe = main.cancel  # a closed pipe ends the demo like a signal
    try:
        return await run_demo(events, reporter, rate, seconds=seconds,
                              handle_signals=True, label=label, serve=serve)
    except asyncio.CancelledError:
        return "stopped"


__all__ = ["DEFAULT_SCENARIO", "add_parser", "answered_call", "expected_events",
           "load_scenario", "run", "run_demo"]

"""``cacofonisk replay FILE...``: replay recorded event logs and print the call events.

``cacofonisk replay nats://HOST:PORT`` reads the raw AMI events that
``listen --publish-raw`` stored in JetStream instead (``--server``,
``--since`` or ``--start-seq`` choose which; see docs/delivery.md).

``--format text`` (default) prints one line per call event;
``--format jsonl`` one JSON object per line; ``--debug`` adds the trace
messages; ``--record OUT`` writes the replayed AMI events to a new log.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..reporters import MultiReporter
from ..reporters.base import BaseReporter
from ..reporters.debug import describe
from ..reporters.json import JsonLinesReporter, JsonReporter
from ..runners.file_runner import FileRunner, load_events
from ..calls import CallEvent
from . import nats_source


class TextReporter(BaseReporter):
    """One plain line per call event (and trace messages with --debug)."""

    def __init__(self, debug: bool = False) -> None:
        self._debug = debug

    def trace_msg(self, msg: str) -> None:
        if self._debug:
            sys.stdout.write(f"  . {msg}\n")

    def on_call_event(self, record: CallEvent) -> None:
        sys.stdout.write(describe(record) + "\n")


class _TraceToStderr(BaseReporter):
    def trace_msg(self, msg: str) -> None:
        sys.stderr.write(f"  . {msg}\n")


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("replay", help="replay JSON event logs and print call events",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="JSON event log(s), or one nats://HOST:PORT[,HOST:PORT] stream")
    nats_source.add_arguments(parser)
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--debug", action="store_true", help="also print trace messages")
    parser.add_argument("--record", metavar="OUT", help="write the replayed AMI events to OUT")
    parser.add_argument("--diagram", metavar="DIR",
                        help="write per-call state diagrams and timelines into DIR")
    parser.set_defaults(run=run)


def build_reporter(args: argparse.Namespace) -> BaseReporter:
    """The reporter the options ask for."""
    reporters: list[Any] = []
    if args.format == "jsonl":
        reporters.append(JsonLinesReporter())
        if args.debug:
            reporters.append(_TraceToStderr())
    else:
        reporters.append(TextReporter(debug=args.debug))
    if args.record:
        reporters.append(JsonReporter(args.record))
    return reporters[0] if len(reporters) == 1 else MultiReporter(reporters)


def run(args: argparse.Namespace) -> int:
    """Replay each file; exit 2 with one line for a missing or invalid file."""
    if hasattr(signal, "SIGPIPE"):
        # `cacofonisk replay x.json | head` should end quietly (replay
        # writes only to stdout and files, never to sockets).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if nats_source.is_nats(args.files):
        return nats_source.run(args, build_reporter(args))
    for name in args.files:
        if not Path(name).is_file():
            raise ConfigurationError(f"no such event log: {name}")
        load_events(name)  # validate up front: a bad file fails before any output
    reporter = build_reporter(args)
    if getattr(args, "diagram", None):
        from .diagram import replay_with_diagrams
        return replay_with_diagrams(args.files, reporter, Path(args.diagram))
    FileRunner(list(args.files), reporter).run()
    return 0

"""``cacofonisk replay FILE...``: replay recorded event logs and print the call events.

``--format text`` (default) prints one line per call event; ``--format
jsonl`` one JSON object per line; ``--debug`` adds the tracker's trace
messages; ``--record OUT`` writes the replayed AMI events (every one of
them) to a new log, which may never be one of the input files.

With several files, each line starts with the file it comes from (jsonl:
a ``"file"`` key). Expectation files (``*.expected.json``, which
``cacofonisk scenario`` writes beside each log) are skipped, so
``cacofonisk replay scenarios/ami2/*.json`` replays the logs only.

A malformed event (a field missing or unreadable) is dropped, as the
library always does, but not silently: one warning line per event on
stderr and exit status 1.

``cacofonisk replay nats://HOST:PORT`` reads the raw AMI events that
``listen --publish-raw`` stored in JetStream instead (``--server``,
``--since`` or ``--start-seq`` choose which; see docs/delivery.md).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..calls import CallEvent
from ..errors import ConfigurationError
from ..reporters import MultiReporter
from ..reporters.base import BaseReporter
from ..reporters.debug import describe
from ..reporters.json import JsonReporter
from ..runners.file_runner import FileRunner, load_events
from . import nats_source
from .malformed import MalformedEvents
from .record_path import check_record_path

#: What ``cacofonisk scenario`` writes beside each log: expectations, not events.
EXPECTED_SUFFIX = ".expected.json"


def _no_label() -> str:
    return ""


#: Trace messages worded for a live connection, as a replay should say them.
_REPLAY_WORDING = {
    "Connected to Asterisk": "FullyBooted: an AMI login recorded in this log",
}


def replay_wording(msg: str) -> str:
    """A trace message as a replay should show it: nothing is connected to
    during a replay, a FullyBooted there is a login the recording saw."""
    return _REPLAY_WORDING.get(msg, msg)


class TextReporter(BaseReporter):
    """One plain line per call event (and trace messages with --debug).

    Args:
        debug: also print the trace messages.
        label: gives the prefix of each line (the file it comes from), or ''.
    """

    def __init__(self, debug: bool = False, label: Callable[[], str] = _no_label) -> None:
        self._debug = debug
        self._label = label

    def _prefix(self) -> str:
        label = self._label()
        return f"{label}: " if label else ""

    def trace_msg(self, msg: str) -> None:
        if self._debug:
            sys.stdout.write(f"{self._prefix()}  . {replay_wording(msg)}\n")

    def on_call_event(self, record: CallEvent) -> None:
        sys.stdout.write(self._prefix() + describe(record) + "\n")


class LabelledJsonLines(BaseReporter):
    """Each call event as one JSON object per line, with ``"file"`` when labelled."""

    def __init__(self, label: Callable[[], str] = _no_label) -> None:
        self._label = label

    def on_call_event(self, record: CallEvent) -> None:
        data = record.as_dict()
        label = self._label()
        if label:
            data["file"] = label
        sys.stdout.write(json.dumps(data, sort_keys=True, default=str) + "\n")

    def close(self) -> None:
        sys.stdout.flush()


class _TraceToStderr(BaseReporter):
    def trace_msg(self, msg: str) -> None:
        sys.stderr.write(f"  . {replay_wording(msg)}\n")


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("replay", help="replay JSON event logs and print call events",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="JSON event log(s) (*.expected.json files are skipped), "
                             "or one nats://HOST:PORT[,HOST:PORT] stream")
    nats_source.add_arguments(parser)
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--debug", action="store_true", help="also print trace messages")
    parser.add_argument("--record", metavar="OUT",
                        help="write every replayed AMI event to OUT (not an input file)")
    parser.add_argument("--diagram", metavar="DIR",
                        help="write per-call state diagrams and timelines into DIR "
                             "(needs pip install 'cacofonisk[diagrams]' and Graphviz)")
    parser.set_defaults(run=run)


def build_reporter(args: argparse.Namespace, label: Callable[[], str] = _no_label
                   ) -> BaseReporter:
    """The reporter the options ask for."""
    reporters: list[Any] = []
    if args.format == "jsonl":
        reporters.append(LabelledJsonLines(label))
        if args.debug:
            reporters.append(_TraceToStderr())
    else:
        reporters.append(TextReporter(debug=args.debug, label=label))
    if args.record:
        reporters.append(JsonReporter(args.record))
    return reporters[0] if len(reporters) == 1 else MultiReporter(reporters)


def event_logs(names: Sequence[str]) -> list[str]:
    """The files to replay: ``names`` without expectation files.

    Raises:
        ConfigurationError: a file is missing, or only expectation files were given.
    """
    logs = []
    for name in names:
        if not Path(name).is_file():
            raise ConfigurationError(f"no such event log: {name}")
        if not name.endswith(EXPECTED_SUFFIX):
            logs.append(name)
    if not logs:
        raise ConfigurationError(
            f"{', '.join(names)}: only {EXPECTED_SUFFIX} files (expectations written by "
            f"`cacofonisk scenario`, not event logs); give the .json log beside each")
    return logs


def unnamed_events(name: str) -> list[int]:
    """Load (and so validate) one log; the 1-based positions of its events
    without an ``Event`` name, which the manager skips without a word.

    Raises:
        ConfigurationError: the file is not a JSON list of objects.
    """
    return [index + 1 for index, event in enumerate(load_events(name))
            if not isinstance(event.get("Event"), str) or not event.get("Event")]


def run(args: argparse.Namespace) -> int:
    """Replay each file; exit 2 with one line for a missing or invalid file,
    1 when malformed events were dropped, 0 otherwise."""
    if hasattr(signal, "SIGPIPE"):
        # `cacofonisk replay x.json | head` should end quietly (replay
        # writes only to stdout and files, never to sockets).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if nats_source.is_nats(args.files):
        return nats_source.run(args, build_reporter(args, _no_label))
    files = event_logs(args.files)
    if args.record:
        check_record_path(args.record, args.files)  # the skipped expectations too
    if getattr(args, "diagram", None):
        from .diagram import require_diagram_tools
        require_diagram_tools()
    runner: FileRunner | None = None

    def current() -> str:
        return "" if runner is None or runner.current_file is None else str(runner.current_file)

    def label() -> str:
        return current() if len(files) > 1 else ""

    # validate every file up front: a bad file fails before any output
    unnamed = {name: unnamed_events(name) for name in files}
    with MalformedEvents("replay", where=current) as warn:
        for name, positions in unnamed.items():
            for position in positions:
                warn.note(f"event #{position} has no 'Event' name; it is ignored", name)
        reporter = build_reporter(args, label)
        if getattr(args, "diagram", None):
            from .diagram import replay_with_diagrams
            replay_with_diagrams(files, reporter, Path(args.diagram))
        else:
            runner = FileRunner(list(files), reporter)
            runner.run()
    if warn.count:
        print(warn.summary(), file=sys.stderr)
        return 1
    return 0

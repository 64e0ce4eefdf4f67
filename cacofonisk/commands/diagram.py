"""``cacofonisk diagram channel|call``: draw a state machine from the table it runs.

The format follows the output file's extension: .svg and .png are rendered
by Graphviz's ``dot`` (Debian package ``graphviz``); .dot/.gv is Graphviz
source and .mmd Mermaid source (.md: Mermaid in a Markdown fence), neither
of which needs a system package. Without ``-o`` the Mermaid source is
printed. ``--path ring,answer,end`` highlights a path through the machine.

Examples::

    cacofonisk diagram call -o call.svg
    cacofonisk diagram channel -o channel.png
    cacofonisk diagram call --path ring,dial_end,answer,end -o answered.svg

``cacofonisk replay LOG --diagram DIR`` draws, for every call of the
replayed logs, the call machine with the path that call took and a
timeline of its channels.

SVG, PNG and DOT need the ``diagrams`` extra (``pip install
'cacofonisk[diagrams]'``, the ``graphviz`` Python package); SVG and PNG
also need Graphviz's ``dot`` program. Mermaid needs neither.
"""
from __future__ import annotations

import argparse
import html
import importlib
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..diagrams import CallCollector, CallHistory, build_timeline, render_svg
from ..errors import ConfigurationError, InvalidTransition
from ..manager import ChannelManager
from ..reporters import MultiReporter
from ..runners.file_runner import load_events

#: what ``diagram`` can draw (cacofonisk.fsm.diagram.MACHINES, which is
#: imported only when a drawing is asked for: it loads GraphMachine)
MACHINE_NAMES = ("channel", "call")
FORMAT_NAMES = ("svg", "png", "dot", "mermaid", "markdown")


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("diagram", help="draw the channel or call state machine",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("machine", choices=MACHINE_NAMES, help="which machine to draw")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write FILE (.svg .png .dot .gv .mmd .md); "
                             "default: Mermaid source on stdout")
    parser.add_argument("--format", choices=FORMAT_NAMES,
                        help="the format, when FILE's extension does not say it")
    parser.add_argument("--path", metavar="TRIGGERS", default="",
                        help="comma-separated triggers to highlight, e.g. ring,answer,end")
    parser.add_argument("--title", help="caption of the drawing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Draw the machine; exit 2 with one line for a bad path, format or missing dot."""
    from ..fsm import diagram

    definition = diagram.MACHINES[args.machine]
    path = [step.strip() for step in args.path.split(",") if step.strip()]
    try:
        diagram.walk(definition, path)
    except InvalidTransition as err:
        allowed = ", ".join(diagram.allowed(definition, err.state)) or "nothing (final)"
        raise ConfigurationError(f"--path: {err.trigger!r} is not allowed in state {err.state} "
                                 f"(allowed there: {allowed})") from err
    if args.output is None:
        fmt = args.format or "mermaid"
        if fmt in diagram.RENDERED:
            raise ConfigurationError(f"{fmt} is binary or large: give a file with -o")
        sys.stdout.write(diagram.source(definition, fmt, path=path, title=args.title))
        return 0
    try:
        diagram.write(definition, args.output, fmt=args.format, path=path, title=args.title)
    except OSError as err:
        raise ConfigurationError(f"cannot write {args.output}: {err.strerror}") from err
    return 0


def require_diagram_tools() -> None:
    """Check, before anything is replayed or printed, what ``--diagram`` needs.

    Why first: a replay prints its call events as it goes; failing for a
    missing package only after all that output hides the one line that says
    what to install.

    Raises:
        ConfigurationError: the ``graphviz`` Python package (the ``diagrams``
            extra) or Graphviz's ``dot`` program is missing.
    """
    try:
        importlib.import_module("graphviz")
    except ImportError:
        raise ConfigurationError(
            "--diagram needs the 'graphviz' Python package: pip install "
            "'cacofonisk[diagrams]'") from None
    from ..fsm import diagram

    diagram.require_dot("the per-call state diagrams")


def replay_with_diagrams(files: Sequence[str], reporter: Any, out_dir: Path) -> int:
    """Replay ``files`` into ``reporter`` and draw every call into ``out_dir``.

    Per call: ``<log>.<call id>.call.svg`` (the call machine, the path the
    call took highlighted and numbered) and ``<log>.<call id>.timeline.svg``;
    ``index.html`` shows them all. Events are fed one by one (not filtered
    by name as FileRunner does) so that a mark's number is the event's
    position in the log file.

    Raises:
        ConfigurationError: Graphviz's ``dot`` is missing, or DIR cannot be
            written (checked before anything is replayed).
    """
    from ..fsm import diagram

    diagram.require_dot("the per-call state diagrams")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigurationError(f"cannot create {out_dir}: {err.strerror}") from err
    collector = CallCollector()
    both = MultiReporter([reporter, collector])
    try:
        for name in files:
            events = load_events(name)
            collector.start_log(Path(name).name)
            manager = ChannelManager(reporter=both)
            for event in events:
                manager.on_event(event)
    finally:
        both.close()
    used: set[str] = set()
    entries = [write_call(history, out_dir, used) for history in collector.calls]
    (out_dir / "index.html").write_text(_index(entries), encoding="utf-8")
    sys.stderr.write(f"cacofonisk replay: {len(entries)} call(s) drawn in {out_dir}/ "
                     f"(open {out_dir / 'index.html'})\n")
    return 0


def file_stem(history: CallHistory) -> str:
    """``<log stem>.<call name>`` with only file-name-safe characters."""
    raw = f"{Path(history.log.name).stem}.{history.name}"
    return re.sub(r"[^A-Za-z0-9._~-]+", "_", raw)


def write_call(history: CallHistory, out_dir: Path,
               used: set[str] | None = None) -> tuple[CallHistory, str, str]:
    """Write one call's machine diagram and timeline; return their file names.

    ``used`` holds the stems already written in this run: the same log given
    twice, or two logs with one name in different folders, get ``-2`` ...
    instead of overwriting each other.
    """
    from ..fsm import diagram

    stem = base = file_stem(history)
    if used is not None:
        count = 1
        while stem in used:
            count += 1
            stem = f"{base}-{count}"
        used.add(stem)
    machine_file, timeline_file = f"{stem}.call.svg", f"{stem}.timeline.svg"
    title = f"call {history.name}: " + (" → ".join(history.path) or "no call events")
    try:
        diagram.write(diagram.MACHINES["call"], out_dir / machine_file, path=history.path,
                      title=title)
    except InvalidTransition as err:  # would mean the collector misread the call
        sys.stderr.write(f"cacofonisk replay: {history.name}: {err}; drawn without path\n")
        diagram.write(diagram.MACHINES["call"], out_dir / machine_file, title=title)
    (out_dir / timeline_file).write_text(render_svg(build_timeline(history)), encoding="utf-8")
    return history, machine_file, timeline_file


def _index(entries: Sequence[tuple[CallHistory, str, str]]) -> str:
    rows = []
    for history, machine_file, timeline_file in entries:
        path = " → ".join(history.path)
        rows.append(
            f"<section><h2>{html.escape(history.name)} "
            f"<small>{html.escape(history.log.name)}, caller {html.escape(history.caller)}"
            f"</small></h2><p>call machine path: <code>{html.escape(path)}</code></p>"
            f'<p><a href="{html.escape(timeline_file)}"><img src="{html.escape(timeline_file)}"'
            f' alt="timeline"></a></p><p><a href="{html.escape(machine_file)}">'
            f'<img src="{html.escape(machine_file)}" alt="call machine"></a></p></section>')
    body = "\n".join(rows) or "<p>No call events in these logs.</p>"
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cacofonisk calls"
            "</title><style>body{font-family:Helvetica,Arial,sans-serif;margin:1.5em}"
            "img{max-width:100%;border:1px solid #ddd}section{margin-bottom:3em}"
            "small{color:#666;font-weight:normal}</style></head><body>"
            f"<h1>Calls</h1>\n{body}\n</body></html>\n")

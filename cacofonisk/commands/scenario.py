"""``cacofonisk scenario NAME -o FILE``: write a simulated call flow as an event log.

The simulator (``cacofonisk.testing.scenarios``) builds the AMI events
Asterisk sends for a named flow and the call events a correct tracker
reports for them. ``-o FILE`` writes the event log (a JSON list, replayable
with ``cacofonisk replay FILE``) and ``FILE``'s ``.expected.json`` beside
it; without ``-o`` the log goes to stdout.

    cacofonisk scenario --list
    cacofonisk scenario blind_transfer -o blind_transfer.json
    cacofonisk scenario ring_group --dialect ami1 --numbers 201,202,203,204
    cacofonisk scenario --all scenarios          # every flow of every dialect

The files ``--all`` writes are exactly the checked-in ``scenarios/`` tree
(a test regenerates them and compares).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..testing.scenarios import FLOWS, build, default_parties, flow_names
from ..testing.sim_base import Scenario

DIALECTS = ("ami2", "ami1")

#: The event a recording made by JsonReporter starts with (the login).
FULLY_BOOTED = {"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "2",
                "LastReload": "2", "Status": "Fully Booted"}


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("scenario", help="write a simulated call flow as an event log",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", metavar="NAME", help="the flow (see --list)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the event log here (and FILE's .expected.json)")
    parser.add_argument("--list", action="store_true", help="list the flows and exit")
    parser.add_argument("--all", metavar="DIR",
                        help="write every flow of every dialect to DIR/<dialect>/<flow>.json")
    parser.add_argument("--dialect", choices=DIALECTS, default="ami2",
                        help="ami2: Asterisk 12-22 (default); ami1: Asterisk 1.8-11")
    parser.add_argument("--tech", help="channel technology (default PJSIP; SIP for ami1)")
    parser.add_argument("--numbers", help="comma-separated numbers, caller first")
    parser.add_argument("--private", default="",
                        help="comma-separated numbers whose caller ID is hidden")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a flow option (JSON value or text), e.g. hangup_by=callee")
    parser.set_defaults(run=run)


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigurationError(f"--option wants KEY=VALUE, not {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def dumps_events(events: list[dict[str, Any]]) -> str:
    """An event log as text: a JSON list, one event per line (diffs well)."""
    return "[\n" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n]\n"


def dumps_expected(scenario: Scenario) -> str:
    """The ``.expected.json`` text of a scenario."""
    return json.dumps(scenario.expected_json(), indent=1, ensure_ascii=False) + "\n"


def log_events(scenario: Scenario) -> list[dict[str, Any]]:
    """What the event log holds: the login's FullyBooted, then the flow."""
    return [dict(FULLY_BOOTED)] + [dict(e) for e in scenario.events]


def expected_path(path: Path) -> Path:
    """``x.json`` -> ``x.expected.json``."""
    name = path.name[:-5] if path.name.endswith(".json") else path.name
    return path.with_name(name + ".expected.json")


def write(scenario: Scenario, path: Path) -> None:
    """Write a scenario's event log and expectations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_events(log_events(scenario)), encoding="utf-8")
    expected_path(path).write_text(dumps_expected(scenario), encoding="utf-8")


def default_scenario(flow: str, dialect: str) -> Scenario:
    """The checked-in scenario of a flow: the default cast and options, and
    the flow's own ids (``scenarios.default_ids``)."""
    return build(flow, dialect)


def write_all(directory: Path) -> list[Path]:
    """Write every flow of every dialect under ``directory``; return the logs written."""
    written = []
    for dialect in DIALECTS:
        for flow in flow_names(dialect):
            path = directory / dialect / f"{flow}.json"
            write(default_scenario(flow, dialect), path)
            written.append(path)
    return written


def _list() -> None:
    for name, spec in FLOWS.items():
        dialects = ",".join(d for d in DIALECTS if d in spec.builders)
        sys.stdout.write(f"{name:30} {dialects:10} {spec.summary}\n")


def run(args: argparse.Namespace) -> int:
    """Write (or list) scenarios; a bad name or option exits 2 with one line."""
    if args.list:
        _list()
        return 0
    if args.all:
        for path in write_all(Path(args.all)):
            sys.stderr.write(f"wrote {path}\n")
        return 0
    if not args.name:
        raise ConfigurationError("name a flow (see --list), or use --all DIR")
    spec = FLOWS.get(args.name)
    if spec is None:
        raise ConfigurationError(f"no flow {args.name!r}; --list shows them")
    if args.dialect not in spec.builders:
        raise ConfigurationError(f"flow {args.name!r} is not simulated for {args.dialect}")
    options = dict(_option(text) for text in args.option)
    numbers = [n for n in (args.numbers or "").split(",") if n]
    private = [n for n in args.private.split(",") if n]
    tech = args.tech or ("SIP" if args.dialect == "ami1" else "PJSIP")
    parties = default_parties(max(spec.parties, len(numbers)), numbers, tech=tech,
                              private=private)
    try:
        scenario = build(args.name, args.dialect, parties=parties, **options)
    except ValueError as err:  # the message names the option and the valid values
        raise ConfigurationError(str(err)) from None
    except TypeError as err:  # pragma: no cover - check_options refuses unknown keys first
        raise ConfigurationError(f"cannot build {args.name}: {err}") from None
    if args.output:
        write(scenario, Path(args.output))
        sys.stderr.write(f"wrote {args.output} and {expected_path(Path(args.output))}\n")
    else:
        sys.stdout.write(dumps_events(log_events(scenario)))
    return 0

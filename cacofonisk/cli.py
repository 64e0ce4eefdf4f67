"""The ``cacofonisk`` command line: one sub-command per module in ``commands/``.

Only the CLI configures logging (and quiets the ``transitions`` logger);
the library itself never adds handlers. Errors the user can fix (a missing
file, bad options) end with a one-line message and exit status 2, never a
traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence

from . import __version__
from .errors import CacofoniskError

#: sub-command name -> module in cacofonisk.commands with add_parser(sub) and run(args)
COMMANDS = {
    "replay": "replay",
    "scenario": "scenario",
    "diagram": "diagram",
    "listen": "listen",
    "demo": "demo",
    "deliver": "deliver",
    "cluster": "cluster",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command that can be imported."""
    parser = argparse.ArgumentParser(
        prog="cacofonisk",
        description="Follow Asterisk calls through AMI and report what happens to them.")
    parser.add_argument("--version", action="version", version=f"cacofonisk {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f"cacofonisk.commands.{module_name}")
        except ImportError:
            continue  # an optional command whose module is not there
        module.add_parser(sub)
    for command in sub.choices.values():
        # -v means the same after the sub-command (`cacofonisk replay -v x.json`);
        # SUPPRESS keeps a -v given before the sub-command when none follows it.
        command.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                             help=VERBOSE_HELP)
        command.description = plain_text(command.description)
    return parser


VERBOSE_HELP = "log more (-v: INFO, -vv: DEBUG); default: errors only"


def plain_text(doc: str | None) -> str | None:
    """A module docstring as ``--help`` shows it: reStructuredText's markup
    (````literal````, a trailing ``::``) taken out, since a terminal does
    not render it."""
    if doc is None:
        return None
    text = re.sub(r"``([^`]+)``", r"\1", doc)
    text = re.sub(r"::$", ":", text, flags=re.M)
    return re.sub(r"(?m)^(\s*\S.*?) :$", r"\1:", text)


def configure_logging(verbose: int) -> None:
    """Log to stderr; transitions' own logger stays at WARNING (it is chatty).

    Unplaceable events are WARNING records in the library; on the command
    line they are shown with ``-v`` (``--debug`` shows them as traces).
    """
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("transitions").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.run(args) or 0)
    except CacofoniskError as err:
        print(f"cacofonisk {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

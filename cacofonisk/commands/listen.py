"""``cacofonisk listen``: follow live Asterisk servers and print their call events.

Servers come from ``--host`` URLs, a ``--config`` file, or the environment
(``CACOFONISK_AMI_HOSTS``); ``server_config.py`` reads them and says where
each secret is looked for (never the command line, where ``ps`` shows it
to every user), and the config file's format.

    cacofonisk listen --host tcp://cacofonisk@10.0.0.5:5038     # secret in $CACOFONISK_AMI_PASSWORD
    cacofonisk listen --host tcp://ami@pbx1:5038 --password-file /etc/cacofonisk/pbx1.secret \\
                      --host tcp://ami@pbx2:5038?name=pbx2 --password-env PBX2_SECRET
    cacofonisk listen --config /etc/cacofonisk/servers.toml --record calls.json
    cacofonisk listen --config servers.toml --http 127.0.0.1:8088   # HTTP API + call board
    CACOFONISK_AMI_HOSTS=tcp://ami:secret@pbx1:5038,tcp://ami:secret@pbx2:5038 cacofonisk listen

SIGINT and SIGTERM stop cleanly: connections are logged off and closed, the
reporter is closed exactly once (a ``--record`` file is then a complete
JSON list) and the exit status is 0, as for any stop that was asked for. A
refused login ends with one line naming the server and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from ..calls import CallEvent
from ..cluster.wiring import add_arguments as add_cluster_arguments
from ..errors import AuthenticationFailed, ConfigurationError
from ..reporters import MultiReporter
from ..reporters.base import BaseReporter
from ..reporters.debug import describe
from ..reporters.json import JsonReporter
from . import publish_options
from ..web import options as http_options
from .malformed import MalformedEvents
from .record_path import check_record_path
from .server_config import ENV_PASSWORD, HostAction, SecretSourceAction, resolve_hosts

log = logging.getLogger(__name__)

_RUNNER_LOG = "cacofonisk.runners"  # the parent of ami_runner and its parts
#: The loggers that may log a refused login (a logger's filters do not apply
#: to records propagated from its children, so each gets the filter).
_RUNNER_PARTS = ("ami_runner", "ami_link", "ami_resync")


# -- output -------------------------------------------------------------------------

class LiveTextReporter(BaseReporter):
    """One line per call event on stdout, prefixed with the server's name when
    there are several; a closed pipe (``listen | head``) stops the runner.

    Why not replay's TextReporter: live output must reach a pipe as it
    happens (flush per line), and a reader that goes away must end the run
    cleanly (recording closed) instead of raising on every later event.
    """

    def __init__(self, show_server: bool, stream: TextIO | None = None,
                 debug: bool = False) -> None:
        self._show_server = show_server
        self._stream = stream
        self._debug = debug
        self.on_broken_pipe: Callable[[], None] | None = None
        self._broken = False

    def _write(self, line: str) -> None:
        if self._broken:
            return
        stream = self._stream or sys.stdout
        try:
            stream.write(line + "\n")
            stream.flush()
        except BrokenPipeError:
            self._broken = True
            _silence_stdout()
            if self.on_broken_pipe is not None:
                self.on_broken_pipe()

    def trace_msg(self, msg: str) -> None:
        if self._debug:
            self._write(f"  . {msg}")

    def on_call_event(self, record: CallEvent) -> None:
        text = describe(record)
        self._write(f"{record.server} {text}" if self._show_server else text)


class LiveJsonLinesReporter(LiveTextReporter):
    """One JSON object per call event (``--format jsonl``), flushed per line."""

    def trace_msg(self, msg: str) -> None:
        if self._debug:
            sys.stderr.write(f"  . {msg}\n")

    def on_call_event(self, record: CallEvent) -> None:
        self._write(json.dumps(record.as_dict(), sort_keys=True, default=str))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not
    complain about the closed pipe (the recipe of the Python docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def build_reporter(fmt: str, record: str | None, show_server: bool,
                   debug: bool = False) -> tuple[BaseReporter, LiveTextReporter]:
    """The reporter for the options, and its stdout part (for broken pipes)."""
    out: LiveTextReporter = (LiveJsonLinesReporter if fmt == "jsonl" else LiveTextReporter)(
        show_server, debug=debug)
    if record is None:
        return out, out
    return MultiReporter([out, JsonReporter(record)]), out


#: The manager's health counters ``--health`` prints (as label=value), and
#: those it prints only when not 0 (rare: a bug, events waiting for the dialect).
_COUNTERS_SHOWN = (("dropped", "stale_channels_dropped"), ("restarts", "restarts_seen"),
                   ("hook_errors", "hook_errors"), ("malformed", "malformed_events"),
                   ("unplaced", "unplaced_events"))
_COUNTERS_IF_ANY = (("internal_errors", "internal_errors"), ("held", "held_events"))


def format_health(health: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per server: connected, lag, age of the last event, calls,
    reconnects, failed connection attempts when there were any, then what
    the tracker dropped or refused (``ChannelManager.health_counters()``:
    dropped = stale channels dropped, restarts seen, hook errors, malformed
    and unplaced events; internal errors and held events when not 0)."""
    def seconds(figures: Mapping[str, Any], key: str) -> str:
        value = figures.get(key)
        return "-" if value is None else f"{value:.3f}s"

    lines = []
    for name, figures in health.items():
        counters = [f"{label}={figures[key]}" for label, key in _COUNTERS_SHOWN
                    if key in figures]
        counters += [f"{label}={figures[key]}" for label, key in _COUNTERS_IF_ANY
                     if figures.get(key)]
        lines.append(f"health {name}: {'up' if figures.get('connected') else 'DOWN'} "
                     f"lag={seconds(figures, 'lag')} "
                     f"last_event={seconds(figures, 'last_event_age')} "
                     f"calls={figures.get('calls_in_flight')} "
                     f"reconnects={figures.get('reconnects')}"
                     + (f" connect_failures={figures['connect_failures']}"
                        if figures.get("connect_failures") else "")
                     + "".join(f" {item}" for item in counters))
    return "\n".join(lines)


class _DropAuthLog(logging.Filter):
    """The runner logs a refused login before raising it; the CLI prints the
    exception itself as its one-line error, so the log record would repeat it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(isinstance(a, AuthenticationFailed) for a in (record.args or ())
                       if not isinstance(record.args, Mapping))


def _configure_runner_logging(verbose: int) -> None:
    """Connection trouble (warnings) is shown even without -v: a listener that
    silently retries an unreachable server looks hung."""
    runner_log = logging.getLogger(_RUNNER_LOG)
    if verbose == 0:
        runner_log.setLevel(logging.WARNING)
        log.setLevel(logging.WARNING)  # a secret file others can read
    for part in _RUNNER_PARTS:
        part_log = logging.getLogger(f"{_RUNNER_LOG}.{part}")
        if not any(isinstance(f, _DropAuthLog) for f in part_log.filters):
            part_log.addFilter(_DropAuthLog())


# -- the sub-command ----------------------------------------------------------------

def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser("listen", help="follow live Asterisk servers over AMI",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", action=HostAction, dest="servers", metavar="URL",
                        help="tcp://user@host:port[?name=N&auth=md5] (tls:// for TLS); "
                             "repeat for more servers; never put the password here")
    parser.add_argument("--password-env", action=SecretSourceAction, dest="password_env",
                        metavar="NAME", help="read the secret of the preceding --host (or, "
                        f"before any --host, of all) from $NAME (default ${ENV_PASSWORD})")
    parser.add_argument("--password-file", action=SecretSourceAction, dest="password_file",
                        metavar="PATH", help="read the secret of the preceding --host (or, "
                        "before any --host, of all) from the first line of PATH")
    parser.add_argument("--config", metavar="FILE", help="TOML file with [servers.NAME] "
                        "tables (host, port, username, password_env|password_file|password)")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="call events on stdout as text lines or JSON lines")
    parser.add_argument("--record", metavar="FILE",
                        help="also write the AMI events received to FILE (a JSON list, "
                             "replayable with `cacofonisk replay`); until listen stops they "
                             "go to a hidden .FILE.*.partial beside it")
    parser.add_argument("--debug", action="store_true", help="also print trace messages")
    parser.add_argument("--health", type=float, default=0.0, metavar="SECONDS",
                        help="print each server's health figures to stderr every SECONDS")
    parser.add_argument("--give-up-after", type=_attempts, default=None, metavar="N",
                        help="exit (status 2, one line) when the first N attempts to "
                             "reach a server fail; by default a service keeps trying")
    publish_options.add_arguments(parser)
    http_options.add_arguments(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(run=run, servers=[])


def _attempts(text: str) -> int:
    """``--give-up-after``: a whole number of attempts, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of attempts (1 or more), "
                                         f"not {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Listen until SIGINT/SIGTERM; 0 then, 2 (via the CLI) for a refused login,
    a configuration error, or ``--give-up-after N`` failed first attempts."""
    from ..runners.ami_runner import AmiRunner  # panoramisk only when listening

    _configure_runner_logging(getattr(args, "verbose", 0))
    hosts, options = resolve_hosts(args)
    if getattr(args, "give_up_after", None):
        options["give_up_after"] = args.give_up_after
    http = http_options.from_args(args)
    if args.health and args.health > 0:
        options.update(health_interval=args.health, on_health=lambda h: print(
            format_health(h), file=sys.stderr, flush=True))
    if args.record and not getattr(args, "cluster", None):
        check_record_path(args.record)  # JsonReporter checks the folder when it opens
    reporter, out = build_reporter(args.format, args.record, len(hosts) > 1, args.debug)
    if getattr(args, "cluster", None):
        from ..cluster.wiring import run_cluster  # nats-py only in cluster mode

        return run_cluster(args, hosts, options, out, http)
    reporter, managers = publish_options.wire(args, reporter, options)
    view = None if http is None else http_options.live_view(http)
    runner = AmiRunner(hosts, reporter if view is None else view.wrap(reporter), managers,
                       **options)
    out.on_broken_pipe = runner.stop
    log.info("listening to %s", ", ".join(h.name for h in runner.hosts))
    with MalformedEvents("listen") as malformed:  # shown; a stop that was asked for stays 0
        if http is None:
            runner.run()
        else:
            http_options.run_with_http(runner, view, http)
    if malformed.count:
        print(f"cacofonisk listen: {malformed.count} malformed event(s) were ignored",
              file=sys.stderr)
    return 0


__all__ = ["LiveJsonLinesReporter", "LiveTextReporter", "add_parser", "build_reporter",
           "format_health", "run"]

"""``cacofonisk listen``: follow live Asterisk servers and print their call events.

Servers come from ``--host`` URLs, a ``--config`` file, or the environment
(``CACOFONISK_AMI_HOSTS``). A secret is never needed on the command line
(where ``ps`` shows it to every user): it comes from an environment
variable, a file, or the config file.

    cacofonisk listen --host tcp://cacofonisk@10.0.0.5:5038     # secret in $CACOFONISK_AMI_PASSWORD
    cacofonisk listen --host tcp://ami@pbx1:5038 --password-file /etc/cacofonisk/pbx1.secret \\
                      --host tcp://ami@pbx2:5038?name=pbx2 --password-env PBX2_SECRET
    cacofonisk listen --config /etc/cacofonisk/servers.toml --record calls.json
    cacofonisk listen --config servers.toml --http 127.0.0.1:8088   # HTTP API + call board
    CACOFONISK_AMI_HOSTS=tcp://ami:secret@pbx1:5038,tcp://ami:secret@pbx2:5038 cacofonisk listen

Where a host's secret comes from, first match wins: the host's own
``--password-file`` / ``--password-env`` (given after its ``--host``; or
``password``, ``password_file``, ``password_env`` in its config section; or
the password of a ``CACOFONISK_AMI_HOSTS`` URL), then a ``--password-file``
/ ``--password-env`` given before any ``--host``, then
``$CACOFONISK_AMI_PASSWORD``.

The config file is TOML, one table per server under ``servers``::

    [servers.pbx1]                      # the table name is the server name
    host = "10.0.0.5"
    port = 5038                         # default 5038
    username = "cacofonisk"
    password_env = "PBX1_AMI_SECRET"    # or password_file = "/etc/cacofonisk/pbx1.secret"
    # ssl = false, auth = "plain" or "md5", name = "..." (overrides the table name)

    [runner]                            # optional: AmiRunner options
    ping_interval = 10
    reconnect_max_delay = 30

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
import re
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

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

log = logging.getLogger(__name__)

#: The secret for every server that has no other source.
ENV_PASSWORD = "CACOFONISK_AMI_PASSWORD"
#: Comma-separated server URLs, used when neither --host nor --config is given.
ENV_HOSTS = "CACOFONISK_AMI_HOSTS"

_SERVER_KEYS = frozenset({"host", "port", "username", "password", "password_env",
                          "password_file", "name", "ssl", "auth"})
_RUNNER_LOG = "cacofonisk.runners"  # the parent of ami_runner and its parts
#: The loggers that may log a refused login (a logger's filters do not apply
#: to records propagated from its children, so each gets the filter).
_RUNNER_PARTS = ("ami_runner", "ami_link", "ami_resync")


# -- where the servers and their secrets come from ----------------------------------

class _HostAction(argparse.Action):
    """``--host URL``: start a new server entry; later per-host options attach to it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        servers = list(getattr(namespace, "servers", None) or [])
        servers.append({"url": values})
        namespace.servers = servers


class _SecretSourceAction(argparse.Action):
    """``--password-env`` / ``--password-file``: for the last ``--host`` given,
    or, before any ``--host``, for every server without its own source.

    Why order matters: one command line can name several servers, each with
    its own secret, without putting any secret on the command line.
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        servers = getattr(namespace, "servers", None) or []
        if servers:
            servers[-1][self.dest] = values
        else:
            setattr(namespace, f"default_{self.dest}", values)


def _warn_if_shared(path: Path, what: str) -> None:
    """A secret in a file other users can read is worth a warning (not an error:
    the file may be on a single-user box)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s %s is readable by other users; chmod 600 it", what, path)


def _read_secret_file(path_text: str, server: str) -> str:
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigurationError(
            f"server {server!r}: cannot read password file {path}: "
            f"{err.strerror or err}") from None
    _warn_if_shared(path, "password file")
    return text.rstrip("\r\n")


def _secret_from(server: str, sources: list[tuple[str, str | None]],
                 environ: Mapping[str, str]) -> str:
    """The first secret found among ``(kind, value)`` sources, in order.

    Raises:
        ConfigurationError: none is set; names the server and what was tried,
            never a value.
    """
    tried: list[str] = []
    for kind, value in sources:
        if value is None:
            continue
        if kind == "password":
            return value
        if kind == "password_file":
            return _read_secret_file(value, server)
        if kind == "password_env":
            if value in environ:
                return environ[value]
            tried.append(f"${value} is not set")
    if ENV_PASSWORD in environ:
        return environ[ENV_PASSWORD]
    tried.append(f"${ENV_PASSWORD} is not set")
    raise ConfigurationError(
        f"server {server!r}: no AMI secret ({'; '.join(tried)}); give --password-env NAME "
        f"or --password-file PATH, set {ENV_PASSWORD}, or use a config file")


def _url_parts(url: str, where: str) -> dict[str, Any]:
    """host, port, username, name, ssl, auth of a ``tcp://user@host:port`` URL
    (the password, if any, under ``password``)."""
    from ..runners.ami_runner import AmiHost  # panoramisk only when listening

    try:
        host = AmiHost.parse(url)  # validates; its secret is the URL's password or ''
    except ConfigurationError as err:
        raise ConfigurationError(_own_words(err)) from None  # the caller names the entry
    try:
        has_password = urlsplit(url).password is not None
    except ValueError:  # pragma: no cover - AmiHost.parse already refused it
        has_password = False
    parts: dict[str, Any] = {"host": host.host, "port": host.port, "username": host.username,
                             "name": host.name, "ssl": host.ssl, "auth": host.auth}
    if has_password:
        parts["password"] = host.secret
    return parts


def _own_words(err: ConfigurationError) -> str:
    """The runner's message without its "AMI host #N: " prefix: every caller
    here names the entry in the user's own terms (--host URL, [servers.X])."""
    return re.sub(r"^AMI host #\d+: ", "", str(err))


def _safe_url(url: str) -> str:
    """The URL with any password blanked, for error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "(unparsable URL)"


def _defaults(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    return [("password_file", getattr(args, "default_password_file", None)),
            ("password_env", getattr(args, "default_password_env", None))]


def _from_cli(args: argparse.Namespace, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = []
    for index, entry in enumerate(getattr(args, "servers", None) or []):
        url = entry["url"]
        try:
            parts = _url_parts(url, f"--host #{index + 1}")
        except ConfigurationError as err:
            # the password of a --host goes elsewhere (see the check below)
            hint = str(err).replace("user:pass@", "user@")
            raise ConfigurationError(f"--host {_safe_url(url)}: {hint}") from None
        if "password" in parts:
            raise ConfigurationError(
                f"--host {_safe_url(url)}: a password on the command line is visible to "
                f"every user of this machine (ps); put it in ${ENV_PASSWORD}, or give "
                f"--password-env NAME or --password-file PATH")
        parts["password"] = _secret_from(
            parts["name"], [("password_file", entry.get("password_file")),
                            ("password_env", entry.get("password_env")), *_defaults(args)],
            environ)
        hosts.append(parts)
    return hosts


def load_config(path_text: str) -> dict[str, Any]:
    """Read a TOML config file.

    Raises:
        ConfigurationError: unreadable, not TOML, or no ``servers`` table.
    """
    path = Path(path_text).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigurationError(f"cannot read config file {path}: "
                                 f"{err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"config file {path} is not valid TOML: {err}") from None
    servers = data.get("servers")
    if not isinstance(servers, dict) or not servers:
        raise ConfigurationError(
            f"config file {path}: no [servers.NAME] table (see cacofonisk listen --help)")
    if any(isinstance(s, dict) and "password" in s for s in servers.values()):
        _warn_if_shared(path, "config file with a password")
    unknown = sorted(set(data) - {"servers", "runner"})
    if unknown:
        raise ConfigurationError(f"config file {path}: unknown table(s) {unknown}; "
                                 f"known: servers, runner")
    return data


def _from_config(data: Mapping[str, Any], args: argparse.Namespace,
                 environ: Mapping[str, str]) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = []
    for table, section in data["servers"].items():
        where = f"config [servers.{table}]"
        if not isinstance(section, dict):
            raise ConfigurationError(f"{where}: expected a table of host, port, username ...")
        unknown = sorted(set(section) - _SERVER_KEYS)
        if unknown:
            raise ConfigurationError(f"{where}: unknown key(s) {unknown}; known: "
                                     f"{sorted(_SERVER_KEYS)}")
        name = str(section.get("name") or table)
        host = {k: section[k] for k in ("host", "port", "username", "ssl", "auth")
                if k in section}
        host["name"] = name
        for key in ("password", "password_env", "password_file"):
            if key in section and not isinstance(section[key], str):
                raise ConfigurationError(f"{where}: {key!r} must be a string")
        host["password"] = _secret_from(
            name, [("password", section.get("password")),
                   ("password_file", section.get("password_file")),
                   ("password_env", section.get("password_env")), *_defaults(args)],
            environ)
        _check_host(host, where)
        hosts.append(host)
    return hosts


def _check_host(host: Mapping[str, Any], where: str) -> None:
    """Validate one host dict now, so a bad value is named by its config table."""
    from ..runners.ami_runner import AmiHost  # panoramisk only when listening

    try:
        AmiHost.parse(dict(host))
    except ConfigurationError as err:
        raise ConfigurationError(f"{where}: {_own_words(err)}") from None


def _from_env(text: str, args: argparse.Namespace,
              environ: Mapping[str, str]) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = []
    for index, url in enumerate(u.strip() for u in text.split(",")):
        if not url:
            continue
        try:
            parts = _url_parts(url, f"{ENV_HOSTS} #{index + 1}")
        except ConfigurationError as err:
            raise ConfigurationError(f"{ENV_HOSTS} entry {index + 1}: {err}") from None
        if "password" not in parts:  # the URL's own password wins, if it has one
            parts["password"] = _secret_from(parts["name"], _defaults(args), environ)
        hosts.append(parts)
    return hosts


def resolve_hosts(args: argparse.Namespace, environ: Mapping[str, str] | None = None
                  ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The AmiRunner host dicts (with secrets) and runner options the
    arguments, config file and environment describe.

    Raises:
        ConfigurationError: no server at all, a bad URL or config, a password
            on the command line, or a server without a secret.
    """
    env = os.environ if environ is None else environ
    hosts = _from_cli(args, env)
    options: dict[str, Any] = {}
    if getattr(args, "config", None):
        data = load_config(args.config)
        hosts += _from_config(data, args, env)
        runner = data.get("runner", {})
        if not isinstance(runner, dict):
            raise ConfigurationError(f"config file {args.config}: [runner] must be a table")
        options.update(runner)
    if not hosts and env.get(ENV_HOSTS, "").strip():
        hosts = _from_env(env[ENV_HOSTS], args, env)
    if not hosts:
        raise ConfigurationError(
            f"no AMI server: give --host tcp://user@host:port, --config FILE, or set "
            f"{ENV_HOSTS}")
    return hosts, options


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
    parser.add_argument("--host", action=_HostAction, dest="servers", metavar="URL",
                        help="tcp://user@host:port[?name=N&auth=md5] (tls:// for TLS); "
                             "repeat for more servers; never put the password here")
    parser.add_argument("--password-env", action=_SecretSourceAction, dest="password_env",
                        metavar="NAME", help="read the secret of the preceding --host (or, "
                        f"before any --host, of all) from $NAME (default ${ENV_PASSWORD})")
    parser.add_argument("--password-file", action=_SecretSourceAction, dest="password_file",
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


__all__ = ["ENV_HOSTS", "ENV_PASSWORD", "LiveJsonLinesReporter", "LiveTextReporter",
           "add_parser", "build_reporter", "format_health", "load_config",
           "resolve_hosts", "run"]

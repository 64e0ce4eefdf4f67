"""The ``--http`` options of ``cacofonisk listen`` and ``cacofonisk demo``.

Why a module of its own, without aiohttp: the CLI registers these options
for every run, and the base install has no aiohttp; only a run that asks
for ``--http`` imports the server (``cacofonisk.web.server``).

Security rule: bound to a loopback address the API is open (only this
machine reaches it); bound anywhere else it requires a bearer token, read
from ``--http-token-file PATH`` or ``$CACOFONISK_HTTP_TOKEN``, never from
the command line (``ps`` shows arguments to every user). Without one the
command refuses to start.
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import stat
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import ConfigurationError

log = logging.getLogger(__name__)

#: where the token comes from when there is no --http-token-file
ENV_TOKEN = "CACOFONISK_HTTP_TOKEN"
#: the address ``--http`` means when it is given without a value
DEFAULT_ADDRESS = "127.0.0.1:8088"


@attrs.frozen(slots=True)
class HttpOptions:
    """Where to serve, and the token (None: no auth, loopback only)."""

    host: str
    port: int
    token: str | None = attrs.field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The board's URL (without the token)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--http`` and ``--http-token-file`` to a sub-command's parser."""
    parser.add_argument("--http", nargs="?", const=DEFAULT_ADDRESS, default=None,
                        metavar="HOST:PORT",
                        help="serve the HTTP API and the call board (default "
                             f"{DEFAULT_ADDRESS}); off 127.0.0.1 a token is required")
    parser.add_argument("--http-token-file", metavar="PATH",
                        help="the bearer token for --http (first line of PATH; default "
                             f"${ENV_TOKEN}); required when HOST is not a loopback address")


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as (host, port).

    Raises:
        ConfigurationError: not HOST:PORT, or the port is not 0-65535.
    """
    host, sep, port_text = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigurationError(
            f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8088 (port 0-65535)")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(path_text: str | None, environ: Mapping[str, str]) -> str | None:
    """The token from a file (first line) or ``$CACOFONISK_HTTP_TOKEN``; None if neither.

    Raises:
        ConfigurationError: the file cannot be read or is empty.
    """
    if path_text is None:
        value = environ.get(ENV_TOKEN, "").strip()
        return value or None
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as err:
        raise ConfigurationError(f"--http-token-file {path}: cannot read it "
                                 f"({err.strerror or err})") from None
    token = text.splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise ConfigurationError(f"--http-token-file {path}: the file is empty; put the "
                                 f"token on its first line")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("--http-token-file %s is readable by other users; chmod 600 it", path)
    return token


def from_args(args: Any, environ: Mapping[str, str] | None = None) -> HttpOptions | None:
    """The HTTP options the arguments ask for; None without ``--http``.

    Raises:
        ConfigurationError: a bad HOST:PORT, an unreadable token file, or a
            non-loopback address without a token.
    """
    text = getattr(args, "http", None)
    token_file = getattr(args, "http_token_file", None)
    if text is None:
        if token_file is not None:
            raise ConfigurationError("--http-token-file needs --http HOST:PORT")
        return None
    host, port = parse_address(text)
    token = read_token(token_file, os.environ if environ is None else environ)
    if token is None and not is_loopback(host):
        raise ConfigurationError(
            f"--http {text}: other machines can reach {host}, so the API needs a token: "
            f"give --http-token-file PATH or set ${ENV_TOKEN} (or bind 127.0.0.1)")
    return HttpOptions(host, port, token)


def live_view(options: HttpOptions) -> Any:
    """A ``LiveView`` for these options (imports aiohttp only now).

    Raises:
        ConfigurationError: aiohttp is not installed (says how to get it).
    """
    try:
        from .app import LiveView
    except ImportError as err:
        raise ConfigurationError(f"--http needs aiohttp ({err.name} is missing): "
                                 f"pip install 'cacofonisk[http]'") from None
    return LiveView(token=options.token)


def run_with_http(runner: Any, view: Any, options: HttpOptions) -> None:
    """Run ``runner`` until stopped while serving ``view`` (``listen --http``)."""
    from .server import run_runner

    run_runner(runner, view, options)


def server_starter(view: Any, options: HttpOptions) -> Callable[[Any], Awaitable[Any]]:
    """``start(runner)`` for ``demo --http``: serves ``view`` beside the runner
    and returns the server (its ``stop()`` ends it)."""
    async def start(runner: Any) -> Any:
        from .server import start_for

        return await start_for(runner, view, options)
    return start

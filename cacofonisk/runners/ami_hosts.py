"""Where and how to reach each Asterisk, and the runner's options.

Why a module of its own: parsing and checking configuration is pure (no
sockets, no panoramisk), and both the CLI (``listen``) and AmiRunner use it;
a mistake in a host entry must be refused with a clear message before any
connection is tried. Secrets never appear in reprs or error messages.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cacofonisk.errors import ConfigurationError

_SCHEMES = {"tcp": False, "tls": True, "ssl": True}
#: The keys a host dict may have ('secret' is the 2017 spelling of 'password').
HOST_KEYS = ("host", "port", "username", "password", "secret", "name", "ssl", "auth")
#: The query keys a tcp:// URL may have.
URL_KEYS = ("name", "auth")

#: One host entry as a user gives it: a dict or a tcp:// URL.
HostConfig = Mapping[str, Any] | str
#: health(): per server name, its figures.
Health = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class AmiHost:
    """Where and how to log in to one Asterisk; the secret is not in repr."""

    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    name: str = ""
    ssl: bool = False
    auth: str = "plain"  #: 'plain' (Secret) or 'md5' (Challenge, then Key)

    @classmethod
    def parse(cls, value: HostConfig, index: int = 0) -> AmiHost:
        """Build from a dict (host, port, username, password, optional name,
        ssl, auth) or from ``tcp://user:pass@host:port[?name=..&auth=md5]``.

        Raises:
            ConfigurationError: naming the entry and the key, never a value.
        """
        where = f"AMI host #{index + 1}"
        if isinstance(value, str):
            return cls._from_url(value, where)
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"{where}: expected a dict or a tcp:// URL")
        _refuse_unknown(where, "key", value, HOST_KEYS)
        password = value.get("password", value.get("secret"))
        for key, got in (("host", value.get("host")), ("username", value.get("username")),
                         ("password", password)):
            if not isinstance(got, str) or (key != "password" and not got):
                raise ConfigurationError(f"{where}: {key!r} is missing or not a string")
        try:
            port = int(value.get("port", 5038))
        except (TypeError, ValueError):
            raise ConfigurationError(f"{where}: 'port' is not a number") from None
        return cls._checked(where, host=value["host"], port=port, username=value["username"],
                            secret=str(password), name=str(value.get("name") or ""),
                            ssl=bool(value.get("ssl", False)),
                            auth=str(value.get("auth", "plain")).lower())

    @classmethod
    def _from_url(cls, url: str, where: str) -> AmiHost:
        try:
            parts = urlsplit(url)
            port = parts.port or 5038
        except ValueError:
            raise ConfigurationError(
                f"{where}: not a valid tcp://user:pass@host:port URL") from None
        if parts.scheme not in _SCHEMES or not parts.hostname or not parts.username:
            raise ConfigurationError(f"{where}: expected tcp://user:pass@host:port")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        _refuse_unknown(where, "URL query key", query, URL_KEYS)
        return cls._checked(where, host=parts.hostname, port=port,
                            username=unquote(parts.username),
                            secret=unquote(parts.password or ""), name=query.get("name", ""),
                            ssl=_SCHEMES[parts.scheme], auth=query.get("auth", "plain").lower())

    @classmethod
    def _checked(cls, where: str, **values: Any) -> AmiHost:
        if values["auth"] not in ("plain", "md5"):
            raise ConfigurationError(f"{where}: 'auth' must be 'plain' or 'md5'")
        if not 0 < values["port"] < 65536:
            raise ConfigurationError(f"{where}: 'port' is out of range")
        host = cls(**values)
        if not host.name:
            host = cls(**{**values, "name": f"{host.host}:{host.port}"})
        return host


@dataclass(frozen=True)
class RunnerOptions:
    """The keyword options of AmiRunner; times in seconds."""

    ping_interval: float = 10.0       #: between keep-alive Pings
    ping_timeout: float = 5.0         #: no Pong by then: the connection is dead
    connect_timeout: float = 10.0
    action_timeout: float = 10.0      #: login, filter, CoreShowChannels, barrier
    reconnect_delay: float = 0.5      #: first backoff, doubled per failure ...
    reconnect_max_delay: float = 30.0  #: ... up to this
    health_interval: float = 30.0     #: how often on_health is called
    on_health: Callable[[Health], Any] | None = None
    server_filters: bool = True       #: send AMI Filter actions after login
    resync_on_first_connect: bool = False  #: also learn calls already in progress
    encoding: str = "utf8"
    idle_flush: float = 0.2           #: quiet this long: the manager reports held-back events
    banner_timeout: float = 3.0       #: no AMI banner by then: not an AMI server
    give_up_after: int | None = None  #: stop after N failed FIRST attempts (None: never)

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> RunnerOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown AmiRunner option(s) {unknown}; known: {sorted(known)}")
        give_up = options.get("give_up_after")
        if give_up is not None and (not isinstance(give_up, int) or give_up < 1):
            raise ConfigurationError("give_up_after must be a whole number of attempts "
                                     "(1 or more), or None to keep trying")
        return cls(**options)


def _refuse_unknown(where: str, what: str, given: Mapping[str, Any],
                    valid: tuple[str, ...]) -> None:
    """A misspelt key ('hostname', 'pasword') silently ignored would connect
    somewhere else or with no secret; refuse it, naming the valid keys.

    Raises:
        ConfigurationError: naming the unknown key(s), never a value.
    """
    unknown = sorted(str(k) for k in given if k not in valid)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ConfigurationError(
            f"{where}: unknown {what}{plural} {', '.join(repr(k) for k in unknown)}; "
            f"valid: {', '.join(valid)}")


__all__ = ["AmiHost", "Health", "HostConfig", "RunnerOptions"]

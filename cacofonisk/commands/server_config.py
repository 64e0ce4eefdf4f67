"""Where ``listen`` (and ``cluster status``) find the AMI servers and their secrets.

Why a module of its own: reading ``--host`` URLs, a TOML config file and
the environment, and finding each server's secret without ever taking it
from the command line, is one job with its own rules and errors; the
listen command only runs what this resolves.

Servers come from ``--host`` URLs, a ``--config`` file, or the environment
(``CACOFONISK_AMI_HOSTS``). A secret is never needed on the command line
(where ``ps`` shows it to every user): it comes from an environment
variable, a file, or the config file.

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
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError

log = logging.getLogger(__name__)

#: The secret for every server that has no other source.
ENV_PASSWORD = "CACOFONISK_AMI_PASSWORD"
#: Comma-separated server URLs, used when neither --host nor --config is given.
ENV_HOSTS = "CACOFONISK_AMI_HOSTS"

_SERVER_KEYS = frozenset({"host", "port", "username", "password", "password_env",
                          "password_file", "name", "ssl", "auth"})


# -- where the servers and their secrets come from ----------------------------------

class HostAction(argparse.Action):
    """``--host URL``: start a new server entry; later per-host options attach to it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        servers = list(getattr(namespace, "servers", None) or [])
        servers.append({"url": values})
        namespace.servers = servers


class SecretSourceAction(argparse.Action):
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


def warn_if_shared(path: Path, what: str) -> None:
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
    warn_if_shared(path, "password file")
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
        warn_if_shared(path, "config file with a password")
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


__all__ = ["ENV_HOSTS", "ENV_PASSWORD", "HostAction", "SecretSourceAction", "load_config",
           "resolve_hosts", "warn_if_shared"]

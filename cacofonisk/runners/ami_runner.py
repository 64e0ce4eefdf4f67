"""Follow live Asterisk servers over AMI: the asyncio adapter of cacofonisk.

Why this module exists: the ChannelManager is pure (AMI events in, call
events out); everything about sockets lives here, and this is the only
module that imports panoramisk. Per server it keeps one connection and one
ChannelManager, and adds what panoramisk lacks:

* an error boundary: every event reaches ``manager.on_event`` inside a
  try/except, because an exception that reaches panoramisk's reader makes
  asyncio close the transport and every event until the reconnect is lost;
* a keep-alive Ping with a deadline, so a hung Asterisk with an open TCP
  connection is noticed;
* its own reconnect, with capped exponential backoff (panoramisk's fixed
  delay reconnect is switched off), and no retry on a refused login;
* a resync after a reconnect: live events are held back, Asterisk's channel
  list is read (CoreShowChannels), a UserEvent barrier marks the end of the
  answer, then ``manager.resync(channels)`` runs and the held events follow
  in order. Events that arrived before Asterisk began answering go first,
  since the list already reflects them;
* server-side AMI ``Filter``s built from ``INTERESTING_EVENTS``, and the same
  skip on our side (Filter may be refused by Asterisk's permissions);
* health figures per server (``health()`` and the ``on_health`` callback).

Secrets never appear in logs, reprs or error messages.
"""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import inspect
import logging
import re
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import panoramisk
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from cacofonisk.errors import AuthenticationFailed, ConfigurationError, ConnectionFailed
from cacofonisk.manager import ChannelManager

log = logging.getLogger(__name__)

#: UserEvent names starting with this are resync barriers, never reported.
BARRIER_PREFIX = "CacofoniskResyncDone-"
#: Events we always let through the server-side filter.
_ALWAYS = frozenset({"UserEvent", "FullyBooted", "Shutdown"})
_SCHEMES = {"tcp": False, "tls": True, "ssl": True}

HostConfig = Mapping[str, Any] | str
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
        where = f"AMI host #{index}"
        if isinstance(value, str):
            return cls._from_url(value, where)
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"{where}: expected a dict or a tcp:// URL")
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
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
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

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> RunnerOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown AmiRunner option(s) {unknown}; known: {sorted(known)}")
        return cls(**options)


class _SecretFilter(logging.Filter):
    """Blanks known secrets in panoramisk's log records (defence in depth:
    it logs a failed action with its headers)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for secret in self.secrets:
            if secret:
                hidden = hidden.replace(secret, "***")
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


_SECRETS = _SecretFilter()
_PANORAMISK_LOG = logging.getLogger("panoramisk.cacofonisk")  # its chatter stays under panoramisk
_PANORAMISK_LOG.addFilter(_SECRETS)


class _Panoramisk(panoramisk.Manager):  # type: ignore[misc]  # untyped library
    """panoramisk's Manager with its own reconnect and ping switched off:
    the runner does both, with backoff and a deadline."""

    def __init__(self, link: _Link, **config: Any) -> None:
        super().__init__(**config)
        self._link = link

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        self._link._connection_lost(self)

    def ping(self) -> None:
        """Replaced by _Link._keepalive."""


class _Protocol(AMIProtocol):  # type: ignore[misc]  # untyped library
    """panoramisk's protocol without its two ways of losing data.

    panoramisk decodes each TCP read on its own with ``errors='ignore'``, so
    a UTF-8 character split across two reads (a caller name such as 'Jörg'
    in a busy stream) silently loses its bytes; and it ``strip()``s every
    message, so a last header with an empty value (``WebhookUrls: ``) loses
    its ``': '`` and is dropped. A replay of a recorded log would then differ
    from the live stream. Here the bytes go through an incremental decoder
    and only the line breaks around a message are stripped.
    """

    _decoder: codecs.IncrementalDecoder | None = None
    _pending = ""
    version: str | None = None  # set by connection_made; typed here for mypy

    def data_received(self, data: bytes) -> None:
        if self._decoder is None:
            encoding = getattr(self, "encoding", None) or "utf8"
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        text = self._pending + self._decoder.decode(data)
        if self.version is None and text.startswith("Asterisk Call Manager/"):
            self.version = text.partition("\r\n")[0].partition("/")[2].strip()
        blocks = text.split("\r\n\r\n")
        self._pending = blocks.pop()
        for block in blocks:
            message = Message.from_line(block.strip("\r\n"))
            if message is not None:
                self.handle_message(message)


class _SnapshotAction(Action):  # type: ignore[misc]  # untyped library
    """CoreShowChannels that notes where its first answer falls among events."""

    def __init__(self, headers: Mapping[str, str], on_first: Callable[[], None]) -> None:
        super().__init__(dict(headers))
        self._on_first = on_first

    def add_message(self, message: Any) -> Any:
        if not self.responses:
            self._on_first()
        return super().add_message(message)


class _Link:
    """One Asterisk server: connection lifecycle, hold/resync, health."""

    def __init__(self, host: AmiHost, manager: Any, options: RunnerOptions,
                 on_change: Callable[[], None]) -> None:
        self.host = host
        self.name = host.name
        self.manager = manager
        self.options = options
        self._on_change = on_change
        self.interesting = _interesting(manager)
        self.connected = False
        self.logins = 0
        self.last_event_at: float | None = None
        self.lag: float | None = None
        self._pano: _Panoramisk | None = None
        self._lost: asyncio.Future[None] | None = None
        self._logged_in = False
        self._held: list[Any] | None = None
        self._split: int | None = None
        self._barrier = ""
        self._barrier_seen: asyncio.Future[None] | None = None
        _SECRETS.secrets.add(host.secret)

    def health(self) -> dict[str, Any]:
        calls = getattr(self.manager, "calls", None)
        try:
            in_flight: int | None = len(calls)  # type: ignore[arg-type]
        except TypeError:
            in_flight = None
        age = None if self.last_event_at is None else time.monotonic() - self.last_event_at
        return {"connected": self.connected, "last_event_age": age, "lag": self.lag,
                "calls_in_flight": in_flight, "reconnects": max(self.logins - 1, 0)}

    # -- lifecycle -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set; raises AuthenticationFailed."""
        opts = self.options
        delay = opts.reconnect_delay
        while not stop.is_set():
            self._logged_in = False
            try:
                await self._session_until(stop)
            except AuthenticationFailed as err:
                log.error("%s", err)
                raise
            except (OSError, TimeoutError, ConnectionFailed) as err:
                log.warning("server %r: %s", self.name, _describe(err))
            except Exception:  # a bug of ours: keep following the server
                log.exception("server %r: unexpected error; reconnecting", self.name)
            finally:
                self._disconnect()
            if stop.is_set():
                return
            if self._logged_in:
                delay = opts.reconnect_delay
            log.info("server %r: reconnecting in %.3g s", self.name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, opts.reconnect_max_delay)

    async def _session_until(self, stop: asyncio.Event) -> None:
        session = asyncio.create_task(self._session())
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({session, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not session.done():
                if self.connected:
                    await self._logoff()
                session.cancel()
                await asyncio.wait({session})
            if not session.cancelled():
                session.result()
        finally:
            stopper.cancel()
            session.cancel()

    async def _session(self) -> None:
        """Connect, log in, filter, resync if needed; return when the
        connection is lost or found dead."""
        loop = asyncio.get_running_loop()
        opts = self.options
        self._lost = lost = loop.create_future()
        pano = _Panoramisk(self, loop=loop, host=self.host.host, port=self.host.port,
                           ssl=self.host.ssl, encoding=opts.encoding, log=_PANORAMISK_LOG,
                           ping_delay=max(int(opts.ping_interval), 1))
        pano.register_event("*", self._on_message)
        log.info("server %r: connecting", self.name)
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(_Protocol, self.host.host, self.host.port,
                                   ssl=self.host.ssl or None), opts.connect_timeout)
        made: asyncio.Future[Any] = loop.create_future()
        made.set_result((transport, protocol))
        pano.connection_made(made)
        self._pano = pano
        resync = callable(getattr(self.manager, "resync", None)) and (
            self.logins > 0 or opts.resync_on_first_connect)
        if resync:
            self._held, self._split = [], None
        await self._login()
        await self._send_filters()
        if resync:
            await self._resync()
        await self._watch(lost)

    def _disconnect(self) -> None:
        pano, self._pano = self._pano, None
        if pano is not None:
            pano.close()
        if self._held is not None:
            self._release(None)  # events that did arrive still count
        if self._barrier_seen is not None and not self._barrier_seen.done():
            self._barrier_seen.cancel()
        if self.connected:
            self.connected = False
            log.info("server %r: disconnected", self.name)
            self._on_change()

    def _connection_lost(self, pano: _Panoramisk) -> None:
        if pano is self._pano and self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    async def _login(self) -> None:
        host = self.host
        if host.auth == "md5":
            reply = await self._request({"Action": "Challenge", "AuthType": "MD5"})
            if not reply.success:
                raise AuthenticationFailed(
                    f"server {self.name!r}: Asterisk refused an MD5 challenge "
                    f"({reply.get('Message') or 'no reason given'})")
            key = hashlib.md5((str(reply.get("Challenge", "")) + host.secret).encode())
            login = {"Action": "Login", "Username": host.username, "AuthType": "MD5",
                     "Key": key.hexdigest(), "Events": "on"}
        else:
            login = {"Action": "Login", "Username": host.username, "Secret": host.secret,
                     "Events": "on"}
        reply = await self._request(login)
        if not reply.success:
            raise AuthenticationFailed(
                f"server {self.name!r}: Asterisk refused the login of user "
                f"{host.username!r} ({reply.get('Message') or 'no reason given'}); check "
                f"the username and secret in the runner's config and manager.conf. "
                f"Not retrying.")
        self._logged_in = True
        self.logins += 1
        self.connected = True
        log.info("server %r: logged in as %r", self.name, host.username)
        self._on_change()

    async def _send_filters(self) -> None:
        if not self.options.server_filters or self.interesting is None:
            return
        names = sorted(_original_names(self.manager) | _ALWAYS)
        regex = "Event: (" + "|".join(re.escape(n) for n in names) + ")"
        reply = await self._request({"Action": "Filter", "Operation": "Add", "Filter": regex})
        if not reply.success:
            log.info("server %r: Asterisk refused the event filter (%s); filtering "
                     "on our side only", self.name, reply.get("Message") or "no reason")

    async def _watch(self, lost: asyncio.Future[None]) -> None:
        """Keep pinging until the connection is lost or stops answering."""
        pinger = asyncio.create_task(self._keepalive())
        flusher = asyncio.create_task(self._flush_when_idle())
        waiting: set[asyncio.Future[Any]] = {pinger, lost}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            pinger.cancel()
            flusher.cancel()
        if lost.done():
            raise ConnectionFailed(f"server {self.name!r}: connection lost")
        reason = pinger.result()
        raise ConnectionFailed(f"server {self.name!r}: {reason}; treating the "
                               f"connection as dead")

    async def _flush_when_idle(self) -> None:
        """Tell the manager when the stream has been quiet for ``idle_flush`` s.

        The manager holds an AMI 2 ring back until its caller's dial burst
        is over (so all targets rung together are one on_b_dial); on a quiet
        server the next event may be seconds away, so quiet time ends it.
        The clock lives here, not in the core.
        """
        period = self.options.idle_flush
        flush = getattr(self.manager, "flush", None)
        if period <= 0 or not callable(flush):
            return
        flushed_for: float | None = None
        while True:
            await asyncio.sleep(period / 2)
            last = self.last_event_at
            if (last is None or last == flushed_for or self._held is not None
                    or time.monotonic() - last < period):
                continue
            flushed_for = last
            try:
                flush()
            except Exception:
                log.exception("server %r: the channel manager raised while flushing",
                              self.name)

    async def _keepalive(self) -> str:
        opts = self.options
        while True:
            await asyncio.sleep(opts.ping_interval)
            try:
                await self._request({"Action": "Ping"}, opts.ping_timeout)
            except TimeoutError:
                return f"no answer to Ping within {opts.ping_timeout:g} s"
            except ConnectionFailed:
                return "connection lost during Ping"

    async def _logoff(self) -> None:
        with contextlib.suppress(Exception):
            await self._request({"Action": "Logoff"}, timeout=1.0)

    async def _request(self, action: Mapping[str, str] | Action,
                       timeout: float | None = None) -> Any:
        """Send an action; its reply, or TimeoutError / ConnectionFailed."""
        if self._pano is None or self._lost is None:
            raise ConnectionFailed(f"server {self.name!r}: not connected")
        name = action.get("Action", "?")
        reply = self._pano.send_action(action if isinstance(action, Action) else dict(action))
        limit = self.options.action_timeout if timeout is None else timeout
        await asyncio.wait({reply, self._lost}, timeout=limit,
                           return_when=asyncio.FIRST_COMPLETED)
        if reply.done():
            return reply.result()
        if self._lost.done():
            raise ConnectionFailed(f"server {self.name!r}: connection lost during {name}")
        raise TimeoutError(f"no answer to {name} within {limit:g} s")

    # -- resync ------------------------------------------------------------------

    async def _resync(self) -> None:
        """Read Asterisk's channel list, wait for the barrier, resync, flush."""
        action = _SnapshotAction({"Action": "CoreShowChannels"}, self._mark_snapshot)
        replies = await self._request(action)
        if not isinstance(replies, list):
            log.warning("server %r: CoreShowChannels refused (%s); cannot resync, calls "
                        "that ended while we were away stay open", self.name,
                        replies.get("Message") or "no reason")
            self._release(None)
            return
        channels = [dict(m) for m in replies if m.get("Event") == "CoreShowChannel"]
        await self._await_barrier()
        log.info("server %r: resync with %d channel(s)", self.name, len(channels))
        self._release(channels)

    async def _await_barrier(self) -> None:
        self._barrier = BARRIER_PREFIX + uuid.uuid4().hex
        self._barrier_seen = asyncio.get_running_loop().create_future()
        reply = await self._request({"Action": "UserEvent", "UserEvent": self._barrier})
        if not reply.success:
            log.warning("server %r: UserEvent refused; resyncing without a barrier",
                        self.name)
            return
        limit = self.options.action_timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._barrier_seen), limit)
            return
        log.warning("server %r: the resync UserEvent did not come back within %g s "
                    "(does the AMI user have read=user?); resyncing anyway",
                    self.name, limit)

    def _mark_snapshot(self) -> None:
        if self._held is not None and self._split is None:
            self._split = len(self._held)

    def _release(self, channels: list[dict[str, Any]] | None) -> None:
        """Deliver held events around ``manager.resync``, in one go so no
        live event can slip in between."""
        held, split = self._held or [], self._split
        self._held = self._split = None
        cut = len(held) if split is None else split
        for message in held[:cut]:
            self._deliver(message)
        if channels is not None:
            try:
                self.manager.resync(channels)
            except Exception:
                log.exception("server %r: the channel manager failed to resync", self.name)
        for message in held[cut:]:
            self._deliver(message)

    # -- events -----------------------------------------------------------------

    def _on_message(self, pano: Any, message: Any) -> None:
        """panoramisk's callback for every event: nothing may escape."""
        try:
            if pano is self._pano:
                self._receive(message)
        except Exception:
            log.exception("server %r: error while handling an event; it is skipped",
                          self.name)

    def _receive(self, message: Any) -> None:
        self.last_event_at = time.monotonic()
        stamp = message.get("Timestamp")
        if stamp:
            with contextlib.suppress(TypeError, ValueError):
                self.lag = time.time() - float(stamp)
        name = str(message.get("Event", ""))
        if name == "UserEvent" and str(message.get("UserEvent", "")).startswith(BARRIER_PREFIX):
            seen = self._barrier_seen
            if message.get("UserEvent") == self._barrier and seen and not seen.done():
                seen.set_result(None)
            return  # ours or another runner's: never the dialplan's
        if self.interesting is not None and name.lower() not in self.interesting:
            return
        if self._held is not None:
            self._held.append(message)
        else:
            self._deliver(message)

    def _deliver(self, message: Any) -> None:
        try:
            self.manager.on_event(message)
        except Exception:
            log.exception("server %r: the channel manager raised on a %s event; "
                          "skipped", self.name, message.get("Event", "?"))


class AmiRunner:
    """Follow one or more Asterisk servers until stopped.

    Args:
        amihosts: a host config or a list of them: a dict with host, port,
            username, password (optional: name, ssl, auth='plain'|'md5'), or
            a string ``tcp://user:pass@host:port``.
        reporter: receives every server's call events; ``close()`` is called
            exactly once when the runner stops.
        channel_manager: the class to build one manager per server with, as
            ``channel_manager(reporter=reporter, server=name)`` (or without
            ``server`` for older subclasses).
        **options: see RunnerOptions (ping_interval, ping_timeout,
            reconnect_delay, reconnect_max_delay, on_health, ...).

    Raises:
        ConfigurationError: bad host config or unknown option.
    """

    def __init__(self, amihosts: HostConfig | Sequence[HostConfig], reporter: Any,
                 channel_manager: Callable[..., Any] = ChannelManager,
                 **options: Any) -> None:
        if isinstance(amihosts, (str, Mapping)):
            amihosts = [amihosts]
        self.hosts = [AmiHost.parse(h, i) for i, h in enumerate(amihosts)]
        if not self.hosts:
            raise ConfigurationError("no AMI host given")
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise ConfigurationError("two AMI hosts share a name; give each a 'name'")
        self.reporter = reporter
        self.channel_manager_class = channel_manager
        self.options = RunnerOptions.from_kwargs(options)
        self.channel_managers = [_make_manager(channel_manager, reporter, h.name)
                                 for h in self.hosts]
        self._links = [_Link(h, m, self.options, self._emit_health)
                       for h, m in zip(self.hosts, self.channel_managers, strict=True)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._reporter_closed = False

    def __repr__(self) -> str:
        return f"<AmiRunner servers={[h.name for h in self.hosts]}>"

    def health(self) -> Health:
        """Per server: connected, last_event_age (s), lag (s, from the AMI
        Timestamp header; needs timestampevents=yes), calls_in_flight,
        reconnects."""
        return {link.name: link.health() for link in self._links}

    def snapshot(self) -> list[Any]:
        """Every call in flight on every server: each manager's ``snapshot()``
        (``cacofonisk.snapshot.CallSnapshot`` records), in host order."""
        return [call for manager in self.channel_managers
                for call in (manager.snapshot() if hasattr(manager, "snapshot") else ())]

    def run(self) -> None:
        """Connect to every server and follow them until SIGINT/SIGTERM or
        ``stop()``; then close the connections and the reporter."""
        asyncio.run(self.run_async(handle_signals=True))

    async def run_async(self, handle_signals: bool = False) -> None:
        """``run()`` for code that owns the loop. Signals are left alone
        unless ``handle_signals``.

        Raises:
            AuthenticationFailed: a server refused the login (others stop too).
        """
        loop = asyncio.get_running_loop()
        self._loop, self._stop = loop, asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        signals = _install_signals(loop, self.stop) if handle_signals else []
        tasks = [asyncio.create_task(link.run(self._stop), name=f"ami:{link.name}")
                 for link in self._links]
        health = asyncio.create_task(self._health_loop()) if self.options.on_health else None
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            self._stop.set()
            await asyncio.wait(tasks)
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in [*tasks, *([health] if health else [])]:
                task.cancel()
            await asyncio.gather(*tasks, *([health] if health else []),
                                 return_exceptions=True)
            for sig in signals:
                loop.remove_signal_handler(sig)
            self._close_reporter()

    def stop(self) -> None:
        """Ask the runner to stop; safe from any thread or a signal handler."""
        self._stop_requested = True
        loop, stop = self._loop, self._stop
        if loop is None or stop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop.set()
        else:
            loop.call_soon_threadsafe(stop.set)

    def _close_reporter(self) -> None:
        if self._reporter_closed:
            return
        self._reporter_closed = True
        try:
            self.reporter.close()
        except Exception:
            log.exception("reporter.close() failed")

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.health_interval)
            self._emit_health()

    def _emit_health(self) -> None:
        callback = self.options.on_health
        if callback is None:
            return
        try:
            result = callback(self.health())
            if inspect.isawaitable(result):
                asyncio.ensure_future(result)
        except Exception:
            log.exception("on_health callback failed")


def _make_manager(cls: Callable[..., Any], reporter: Any, server: str) -> Any:
    try:
        return cls(reporter=reporter, server=server)
    except TypeError:  # a 2017-style subclass without the server keyword
        return cls(reporter=reporter)


def _original_names(manager: Any) -> set[str]:
    names = getattr(manager, "INTERESTING_EVENTS", None) or ()
    return {str(n) for n in names}


def _interesting(manager: Any) -> frozenset[str] | None:
    """Lower-cased INTERESTING_EVENTS, or None for 'everything'."""
    names = _original_names(manager)
    if not names or "*" in names:
        return None
    return frozenset(n.lower() for n in names)


def _install_signals(loop: asyncio.AbstractEventLoop,
                     stop: Callable[[], None]) -> list[int]:
    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not the main thread, or no signals on this platform
        installed.append(sig)
    return installed


def _describe(err: BaseException) -> str:
    text = str(err)
    if isinstance(err, TimeoutError) and not text:
        return "connection attempt timed out"
    return text or type(err).__name__


__all__ = ["AmiHost", "AmiRunner", "RunnerOptions", "BARRIER_PREFIX"]

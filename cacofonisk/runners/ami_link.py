"""One Asterisk server's connection: session, login, keep-alive, events, health.

Why a module of its own: the lifecycle of one link (connect, log in, send
filters, resync, watch, reconnect with backoff) is independent of how many
servers the runner follows. What it adds to panoramisk:

* an error boundary: every event reaches ``manager.on_event`` inside a
  try/except, because an exception that reaches panoramisk's reader makes
  asyncio close the transport and every event until the reconnect is lost;
* a keep-alive Ping with a deadline, so a hung Asterisk with an open TCP
  connection is noticed;
* its own reconnect, with capped exponential backoff (panoramisk's fixed
  delay reconnect is switched off), and no retry on a refused login;
* a resync after a reconnect (see ``ami_resync``);
* server-side AMI ``Filter``s built from ``INTERESTING_EVENTS``, and the same
  skip on our side (Filter may be refused by Asterisk's permissions); both
  are off when the reporter records raw events (a ``--record`` file holds
  every event Asterisk sent, as a replay's recording does);
* health figures (``health()``).

Secrets never appear in logs, reprs or error messages.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk.actions import Action

from cacofonisk.errors import AuthenticationFailed, ConnectionFailed, GaveUpConnecting

from .ami_hosts import AmiHost, RunnerOptions
from .ami_banner import dialect_of, dialect_of_core_settings, read_banner
from .ami_protocol import PANORAMISK_LOG, SECRETS, _Panoramisk, _Protocol, plain_headers
from .ami_resync import Resync

log = logging.getLogger(__name__)

#: Events we always let through the server-side filter.
_ALWAYS = frozenset({"UserEvent", "FullyBooted", "Shutdown"})


class _Link:
    """One Asterisk server: connection lifecycle, hold/resync, health."""

    def __init__(self, host: AmiHost, manager: Any, options: RunnerOptions,
                 on_change: Callable[[], None], every_event: bool = False) -> None:
        self.host = host
        self.name = host.name
        self.manager = manager
        self.options = options
        self._on_change = on_change
        #: lower-cased names the manager consumes, None for every event: the
        #: reporter records raw events (``every_event``, e.g. ``--record``),
        #: so neither a server-side Filter nor our skip may drop any; the
        #: manager still skips them by name before parsing (cheap)
        self.interesting = None if every_event else _interesting(manager)
        self.connected = False
        self.logins = 0
        #: connection attempts that ended before a login (refused, timed
        #: out, not an AMI server): in total, and since the last login
        self.connect_failures = 0
        self.failures_in_a_row = 0
        #: the AMI version from the banner ('5.0.0'), once connected
        self.ami_version: str | None = None
        self.last_event_at: float | None = None
        self.lag: float | None = None
        self._pano: _Panoramisk | None = None
        self._lost: asyncio.Future[None] | None = None
        self._logged_in = False
        self.resync = Resync(self.name, self._deliver, options.action_timeout)
        SECRETS.secrets.add(host.secret)

    def health(self) -> dict[str, Any]:
        calls = getattr(self.manager, "calls", None)
        try:
            in_flight: int | None = len(calls)  # type: ignore[arg-type]
        except TypeError:
            in_flight = None
        age = None if self.last_event_at is None else time.monotonic() - self.last_event_at
        return {"connected": self.connected, "last_event_age": age, "lag": self.lag,
                "calls_in_flight": in_flight, "reconnects": max(self.logins - 1, 0),
                "connect_failures": self.connect_failures,
                "failures_in_a_row": self.failures_in_a_row}

    # -- lifecycle -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set.

        Every failed attempt is logged with its reason and the delay before
        the next ("retrying in N s"), and counted in ``health()``.

        Raises:
            AuthenticationFailed: the login was refused (retrying will not help).
            GaveUpConnecting: ``give_up_after`` first attempts failed.
        """
        opts = self.options
        delay = opts.reconnect_delay
        while not stop.is_set():
            self._logged_in = False
            reason = "connection closed"
            try:
                await self._session_until(stop)
            except AuthenticationFailed as err:
                log.error("%s", err)
                raise
            except (OSError, TimeoutError, ConnectionFailed) as err:
                reason = _describe(err, self.name)
            except Exception:  # a bug of ours: keep following the server
                log.exception("server %r: unexpected error; reconnecting", self.name)
                reason = "unexpected error (logged above)"
            finally:
                self._disconnect()
            if stop.is_set():
                return
            if self._logged_in:
                delay = opts.reconnect_delay
                self.failures_in_a_row = 0
            else:
                self.connect_failures += 1
                self.failures_in_a_row += 1
                self._give_up_if_told(reason)
                self._on_change()
            log.warning("server %r: %s; retrying in %.3g s", self.name, reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, opts.reconnect_max_delay)

    def _give_up_if_told(self, reason: str) -> None:
        """A mistyped host or port should end in an exit status, not a
        silent retry loop; a service that was up once keeps trying."""
        limit = self.options.give_up_after
        if limit and self.logins == 0 and self.connect_failures >= limit:
            attempts = "1 attempt" if limit == 1 else f"{limit} attempts"
            raise GaveUpConnecting(
                f"server {self.name!r}: gave up after {attempts} to connect to "
                f"{self.host.host}:{self.host.port} (last: {reason}); check the host and "
                f"port, or drop the give-up limit (--give-up-after) to keep trying")

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
        pano = _Panoramisk(self._connection_lost, self._on_message, loop=loop,
                           host=self.host.host,
                           port=self.host.port, ssl=self.host.ssl, encoding=opts.encoding,
                           log=PANORAMISK_LOG,
                           ping_delay=max(int(opts.ping_interval), 1))
        log.info("server %r: connecting", self.name)
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(_Protocol, self.host.host, self.host.port,
                                   ssl=self.host.ssl or None), opts.connect_timeout)
        made: asyncio.Future[Any] = loop.create_future()
        made.set_result((transport, protocol))
        pano.connection_made(made)
        self._pano = pano
        self.ami_version = await read_banner(protocol, lost, self.options.banner_timeout,
                                             f"{self.host.host}:{self.host.port}")
        self._declare_dialect(dialect_of(self.ami_version))
        resync = callable(getattr(self.manager, "resync", None)) and (
            self.logins > 0 or opts.resync_on_first_connect)
        if resync:
            self.resync.start()
        await self._login()
        if dialect_of(self.ami_version) is None:
            await self._ask_core_settings()
        await self._send_filters()
        if resync:
            await self.resync.run(self._request)
        await self._watch(lost)

    def _declare_dialect(self, dialect: str | None) -> None:
        """Tell the manager which AMI the server speaks, from its own word:
        a guess from the events could be misled by one stray event."""
        declare = getattr(self.manager, "declare_dialect", None)
        if dialect is None or not callable(declare):
            return
        try:
            declare(dialect)
        except Exception:
            log.exception("server %r: the channel manager refused dialect %r",
                          self.name, dialect)

    async def _ask_core_settings(self) -> None:
        """The banner did not say: ask CoreSettings (AMIversion, AsteriskVersion)."""
        try:
            reply = await self._request({"Action": "CoreSettings"})
        except TimeoutError:
            return
        if reply.success:
            self._declare_dialect(dialect_of_core_settings(reply))

    def _disconnect(self) -> None:
        pano, self._pano = self._pano, None
        if pano is not None:
            pano.close()
        self.resync.abort()  # events that did arrive still count
        if self.connected:
            self.connected = False
            log.info("server %r: disconnected", self.name)
            self._on_change()

    def _connection_lost(self, pano: Any) -> None:
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
            if (last is None or last == flushed_for or self.resync.holding
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
        if name == "UserEvent" and self.resync.is_barrier(message):
            return  # ours or another runner's: never the dialplan's
        if self.interesting is not None and name.lower() not in self.interesting:
            return
        if not self.resync.hold(message):
            self._deliver(message)

    def _deliver(self, message: Any) -> None:
        if message.__class__ is not dict:  # a resync's answer, parsed by panoramisk
            message = plain_headers(message)
        try:
            self.manager.on_event(message)
        except Exception:
            log.exception("server %r: the channel manager raised on a %s event; "
                          "skipped", self.name, message.get("Event", "?"))


def _original_names(manager: Any) -> set[str]:
    names = getattr(manager, "INTERESTING_EVENTS", None) or ()
    return {str(n) for n in names}


def _interesting(manager: Any) -> frozenset[str] | None:
    """Lower-cased INTERESTING_EVENTS, or None for 'everything'."""
    names = _original_names(manager)
    if not names or "*" in names:
        return None
    return frozenset(n.lower() for n in names)


def _describe(err: BaseException, name: str) -> str:
    """The reason of a failed attempt, without a repeated 'server ...:' prefix."""
    text = str(err)
    if isinstance(err, TimeoutError) and not text:
        return "connection attempt timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (is anything listening on that port?)"
    prefix = f"server {name!r}: "
    if text.startswith(prefix):
        text = text[len(prefix):]
    return text or type(err).__name__

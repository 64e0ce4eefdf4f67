"""Follow live Asterisk servers over AMI: the asyncio adapter of cacofonisk.

Why this module exists: the ChannelManager is pure (AMI events in, call
events out); everything about sockets lives in the runner modules, the only
ones that import panoramisk. ``AmiRunner`` is the facade: per server it
keeps one connection and one ChannelManager, and it owns the loop's life
(signals, stopping, closing the reporter once, health callbacks). The parts:

* ``ami_hosts``: host entries and options, parsed and checked;
* ``ami_protocol``: panoramisk's protocol and manager, fixed and adapted;
* ``ami_link``: one server's session (login, filters, keep-alive, backoff);
* ``ami_resync``: what happens after a reconnect.

Secrets never appear in logs, reprs or error messages.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cacofonisk.errors import ConfigurationError
from cacofonisk.manager import ChannelManager
from cacofonisk.reporters.base import sees_raw_events

from .ami_hosts import AmiHost, Health, HostConfig, RunnerOptions
from .ami_link import _Link
from .ami_protocol import _Protocol  # noqa: F401  # re-exported: tests and bench reach in
from .ami_resync import BARRIER_PREFIX

log = logging.getLogger(__name__)


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
            reconnect_delay, reconnect_max_delay, on_health, banner_timeout,
            give_up_after=N to raise GaveUpConnecting after N failed first
            attempts, ...).

    Raises:
        ConfigurationError: bad host config (an unknown key too) or unknown option.
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
        every_event = sees_raw_events(reporter)  # e.g. a JsonReporter: a complete recording
        self._links = [_Link(h, m, self.options, self._emit_health, every_event)
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
        reconnects, connect_failures (attempts that never reached a login)
        and failures_in_a_row (since the last login)."""
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


__all__ = ["AmiHost", "AmiRunner", "BARRIER_PREFIX", "Health", "HostConfig", "RunnerOptions"]

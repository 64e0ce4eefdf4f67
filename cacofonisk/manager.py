"""ChannelManager: the error boundary between AMI events and reporter hooks.

For each AMI event: ``reporter.trace_ami(event)``; detect the dialect;
skip the event by name if no rule of that dialect uses it; parse it into
a record (the record type's ``from_ami``); let the dialect's handler
apply it to the tracker; then drain the
tracker's trace messages and call events to the reporter; finally
``reporter.on_event(event)``.

Nothing raises out of ``on_event``: a ``CacofoniskError`` (malformed
event, unknown channel ...) becomes a ``trace_msg`` and a log warning and
the event is dropped; any other exception is a bug, logged with its
traceback and re-raised only with ``strict=True`` (tests). A reporter hook
that raises is logged and reported, and the remaining hooks still run.
Under panoramisk an exception here would drop the AMI connection.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from . import events as ami
from .dialects.ami1 import Ami1Rules
from .dialects.ami2 import Ami2Rules
from .dialects.common import Rules
from .errors import CacofoniskError, ChannelGone
from .fsm.call import Call
from .fsm.channel import Channel
from .resync import resync_tracker
from .snapshot import CallSnapshot
from .reporters.base import BaseReporter, deliver
from .tracker import Tracker

log = logging.getLogger(__name__)

_DIALECTS: dict[str, type[Rules]] = {"ami1": Ami1Rules, "ami2": Ami2Rules}


def _interesting(*rule_types: type[Rules]) -> frozenset[str]:
    names: set[str] = set()
    for rules_type in rule_types:
        rules = rules_type(Tracker())
        names.update(record_type.EVENT for record_type in rules.handlers)
    return frozenset(names)


#: The parser of each event name some rule consumes (INTERESTING_EVENTS).
_PARSERS = {name: ami.RECORD_TYPES[name].from_ami for name in _interesting(Ami1Rules, Ami2Rules)}


class ChannelManager:
    """Follows the channels and calls of ONE Asterisk server.

    Args:
        reporter: receives trace messages, call-event hooks and the raw
            events (see ``cacofonisk.reporters.BaseReporter``).
        server: a name for the server, copied onto every call event.
        strict: re-raise unexpected exceptions (bugs) instead of only
            logging them. For tests.
        dialect: 'ami1' or 'ami2' to force a dialect; by default it is
            detected from the events themselves (``Linkedid`` headers and
            event types that exist in only one dialect).
    """

    #: Every AMI event name some rule consumes; others may be skipped.
    INTERESTING_EVENTS: frozenset[str] = frozenset(_PARSERS)

    def __init__(self, reporter: Any, *, server: str = "", strict: bool = False,
                 dialect: str | None = None) -> None:
        if dialect is not None and dialect not in _DIALECTS:
            raise ValueError(f"dialect must be one of {sorted(_DIALECTS)}, not {dialect!r}")
        self._reporter = reporter
        self.server = server
        self.strict = strict
        self._tracker = Tracker(server)
        self._forced = dialect is not None
        self._dialect = dialect or "ami1"
        self._detected = self._forced
        self._rules: Rules = _DIALECTS[self._dialect](self._tracker)
        #: event name -> (parser, handler, (header, value) that means "ignore")
        self._steps: dict[str, tuple[Any, Any, tuple[str, str] | None]] = {}
        self._held: dict[str, Any] = {}
        self._bind_rules()
        # BaseReporter's no-op trace_ami/on_event are not called: two calls
        # saved per event. A hook set on the instance later is still seen.
        self._reporter_attrs: dict[str, Any] = getattr(reporter, "__dict__", {})
        self._calls_trace_ami = _overridden(reporter, "trace_ami")
        self._calls_on_event = _overridden(reporter, "on_event")

    def __repr__(self) -> str:
        return (f"<ChannelManager server={self.server!r} dialect={self.dialect} "
                f"channels={len(self._tracker.channels)} calls={len(self._tracker.calls)}>")

    # -- what it knows --------------------------------------------------------

    @property
    def dialect(self) -> str:
        """'ami1' or 'ami2' once known ('unknown' before the first telling event)."""
        return self._dialect if self._detected else "unknown"

    @property
    def channels(self) -> list[Channel]:
        """The live channels (a new list)."""
        return list(self._tracker.channels)

    @property
    def calls(self) -> list[Call]:
        """The calls in flight (a new list)."""
        return list(self._tracker.calls)

    @property
    def bridges(self) -> list[Any]:
        """The known 2+ bridges (a new list)."""
        return list(self._tracker.bridges)

    def snapshot(self) -> tuple[CallSnapshot, ...]:
        """What is happening now: one frozen ``CallSnapshot`` per call in flight.

        Built from the same call models whose machines report the call
        events, folded from exactly the records the reporter received: a
        snapshot taken between two events agrees with everything reported
        so far. A call that ended or was merged by a transfer is not in it;
        when no channel is left it is empty. Pure: no clock, no I/O.
        """
        return self._tracker.snapshot()

    def is_idle(self) -> bool:
        """No channel, call or bridge is held: nothing leaks."""
        tracker = self._tracker
        return not (len(tracker.channels) or len(tracker.calls) or len(tracker.bridges))

    # -- input ---------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Apply one AMI event. Never raises (unless ``strict`` and a bug).

        This runs for every event of a busy server, so it does as little as
        it can: one table lookup tells whether the current dialect has a
        rule for the event (and whether the event is one the dialect
        ignores, ``Rules.IGNORE_WHEN``); only then is it parsed into its record.
        """
        if self._calls_trace_ami or "trace_ami" in self._reporter_attrs:
            try:
                self._reporter.trace_ami(event)
            except Exception:  # noqa: BLE001 - a reporter bug must not stop the manager
                self._hook_raised("trace_ami")
        tracker = self._tracker
        try:
            try:
                name = event["Event"]
            except KeyError:
                name = None
            if name.__class__ is not str:
                name = ami.event_name(event)
            if not self._detected and name in _PARSERS:
                self._detect(name, event)
            step = self._steps.get(name)
            if step is not None and (step[2] is None or event.get(step[2][0]) != step[2][1]):
                record = step[0](event)
                tracker.timestamp = record.timestamp
                if self._held:
                    self._rules.release(record)
                step[1](record)
        except ChannelGone as err:
            log.debug("%s", err)  # Asterisk's normal late updates: not worth a trace
        except CacofoniskError as err:
            log.warning("%s", err)
            tracker.trace(str(err))
        except Exception as err:  # a bug: report it, keep the connection alive
            log.exception("bug while applying %s event", _name_of(event))
            tracker.trace(f"internal error on {_name_of(event)} event: {err!r}")
            if self.strict:
                self._drain()
                raise
        if tracker.traces or tracker.outbox:
            self._drain()
        if self._calls_on_event or "on_event" in self._reporter_attrs:
            self._call(self._reporter.on_event, event)

    def _bind_rules(self) -> None:
        """Index the current dialect's handlers by event name, with their parsers."""
        rules = self._rules
        ignore = rules.IGNORE_WHEN
        self._steps = {record_type.EVENT: (_PARSERS[record_type.EVENT], handler,
                                           ignore.get(record_type.EVENT))
                       for record_type, handler in rules.handlers.items()}
        self._held = rules.held

    def _detect(self, name: str, event: Mapping[str, Any]) -> None:
        if self._detected:
            return
        if name in ami.AMI2_ONLY or "Linkedid" in event:
            dialect = "ami2"
        elif name in ami.AMI1_ONLY:
            dialect = "ami1"
        else:
            return
        self._detected = True
        if dialect != self._dialect:
            self._dialect = dialect
            self._rules = _DIALECTS[dialect](self._tracker)
            self._bind_rules()
        log.info("server %r speaks %s", self.server, dialect)

    def flush(self) -> None:
        """Report call events held back for a dial burst: the stream is idle or over.

        A 2+ ring is reported once its caller's dial burst is over, so that
        every target rung together is in one on_b_dial; the next event of
        that call shows the end. Runners call this when the stream has
        been quiet for a moment (AmiRunner) or has ended (FileRunner), so
        a quiet server does not delay an on_b_dial. The clock stays out of
        the core: this is an explicit input.
        """
        try:
            self._rules.flush()
        except Exception as err:
            log.exception("bug while flushing")
            self._tracker.trace(f"internal error while flushing: {err!r}")
            if self.strict:
                self._drain()
                raise
        self._drain()

    def resync(self, channels: Iterable[Mapping[str, Any]]) -> None:
        """Bring the view in line with Asterisk's own list after a reconnect.

        Args:
            channels: one mapping per ``CoreShowChannel`` event (Uniqueid,
                Channel, ChannelState, CallerIDNum ...).

        Calls whose channels vanished while we were away end with reason
        'failed' and hangup_by 'unknown (disconnected)'; channels still up
        are kept (no new on_b_dial/on_up) and marked as resumed; channels
        we did not know are added.
        """
        try:
            resync_tracker(self._tracker, list(channels))
        except CacofoniskError as err:
            self._tracker.trace(str(err))
        except Exception as err:
            log.exception("bug during resync")
            self._tracker.trace(f"internal error during resync: {err!r}")
            if self.strict:
                self._drain()
                raise
        self._drain()

    # -- output ----------------------------------------------------------------

    def _drain(self) -> None:
        tracker = self._tracker
        while tracker.traces or tracker.outbox:
            traces, tracker.traces = tracker.traces, []
            for msg in traces:
                self._safe_hook("trace_msg", msg)
            outbox, tracker.outbox = tracker.outbox, []
            reporter = self._reporter
            for _call, record in outbox:
                try:
                    deliver(reporter, record)
                except Exception:
                    log.exception("reporter raised on %s", record.HOOK)
                    self._safe_hook("trace_msg", f"reporter raised on {record.HOOK}; see the log")

    def _safe_hook(self, hook: str, *args: Any) -> None:
        method = getattr(self._reporter, hook, None)
        if method is not None:
            self._call(method, *args)

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except Exception:  # noqa: BLE001 - logged by _hook_raised; a reporter bug must not stop us
            self._hook_raised(getattr(method, "__name__", repr(method)))

    def _hook_raised(self, hook: str) -> None:
        """Log the reporter hook that just raised; say so through trace_msg (unless it was that)."""
        log.exception("reporter hook %s raised", hook)
        if hook != "trace_msg":
            self._safe_hook("trace_msg", f"reporter hook {hook} raised; see the log")


_BASE_NO_OPS = {BaseReporter.trace_ami, BaseReporter.on_event}


def _overridden(reporter: Any, hook: str) -> bool:
    """Whether the reporter has its own ``hook`` (not BaseReporter's no-op).

    A duck-typed reporter may provide hooks through ``__getattr__``.
    """
    method = getattr(type(reporter), hook, None)
    if method is None:
        return getattr(reporter, hook, None) is not None
    return method not in _BASE_NO_OPS


def _name_of(event: Mapping[str, Any]) -> str:
    try:
        return ami.event_name(event) or "unnamed"
    except Exception:
        return "unnamed"

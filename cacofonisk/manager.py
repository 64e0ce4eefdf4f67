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
from typing import Any, ClassVar

from . import events as ami
from ._mypyc import mypyc_attr
from .dialects.ami1 import Ami1Rules
from .dialects.ami2 import Ami2Rules
from .dialects.common import Rules
from .errors import CacofoniskError, ChannelGone, UnknownDialect
from .fsm.call import Call
from .fsm.channel import Channel
from .resync import RESYNC_EVENTS, ResyncCollector, ResyncLists, resync_tracker
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


@mypyc_attr(allow_interpreted_subclasses=True)
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

    #: Every AMI event name some rule or the resync consumes; others may be skipped.
    INTERESTING_EVENTS: ClassVar[frozenset[str]] = frozenset(_PARSERS) | RESYNC_EVENTS

    def __init__(self, reporter: Any, *, server: str = "", strict: bool = False,
                 dialect: str | None = None) -> None:
        if dialect is not None and dialect not in _DIALECTS:
            raise UnknownDialect(dialect, tuple(sorted(_DIALECTS)))
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
        self._resync_input = ResyncCollector()
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
            if name in RESYNC_EVENTS and self._take_resync_input(name, event):
                step = None  # a list answer or a barrier: never a call event
            else:
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
        self._use_dialect(dialect)
        log.info("server %r speaks %s", self.server, dialect)

    def declare_dialect(self, name: str) -> None:
        """The server said which AMI it speaks: use that dialect from now on.

        Runners call this at login, from the AMI banner (``Asterisk Call
        Manager/2.10.3``: AMI 2 and later is 'ami2') or ``CoreSettings``
        (Asterisk 12 and later is 'ami2'). What the server says about
        itself beats any guess from events, so it overrides detection and
        a ``dialect=`` given at construction; calls the other dialect held
        back are reported first.

        Args:
            name: 'ami1' (Asterisk 1.8 to 11) or 'ami2' (Asterisk 12 to 22).

        Raises:
            UnknownDialect: ``name`` is neither (also a ValueError).
        """
        if name not in _DIALECTS:
            raise UnknownDialect(name, tuple(sorted(_DIALECTS)))
        self._forced = True
        self._use_dialect(name)
        log.info("server %r declared %s", self.server, name)

    def _use_dialect(self, name: str) -> None:
        """Switch to dialect ``name`` (reporting what the old rules held back)."""
        self._detected = True
        if name == self._dialect and self._rules.NAME == name:
            return
        if self._held:
            self.flush()
        self._dialect = name
        # The old rules' handler table holds their bound methods, which hold
        # the rules: a reference cycle. Emptying it lets them go at once.
        self._rules.handlers.clear()
        self._rules = _DIALECTS[name](self._tracker)
        self._bind_rules()

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

    def _take_resync_input(self, name: str, event: Mapping[str, Any]) -> bool:
        """Collect a resync's list answers; at its barrier, resync. True if taken.

        Why through ``on_event``: the live runner feeds a resync as these
        events and a recording holds them, so a replay resyncs exactly
        where the live run did, and the barrier is never an on_user_event.
        """
        taken = self._resync_input.take(name, event)
        if isinstance(taken, ResyncLists):
            self._resync(taken.channels, taken)
            return True
        return taken

    def resync(self, channels: Iterable[Mapping[str, Any]]) -> None:
        """Bring the view in line with Asterisk's own list after a reconnect.

        Runners need not call this: the live runner feeds the resync as AMI
        events (the ``CoreShowChannel`` list, then its barrier UserEvent),
        which ``on_event`` applies, so a recording replays the same.

        Args:
            channels: one mapping per ``CoreShowChannel`` event (Uniqueid,
                Channel, ChannelState, CallerIDNum, BridgeId, Linkedid,
                ConnectedLineNum ...).

        What is reported: a call whose channels vanished while we were away
        ends with on_hangup, reason 'completed' if it had been answered,
        else 'failed', hangup_by 'unknown: ended while disconnected' (no
        cause). What changed while away is reported as call events marked
        ``after_gap=True``: on_up for a call answered while away or now
        talking to someone else (a transfer while away), on_b_dial (and
        on_up) for a call that began while away. Nothing already reported
        is repeated; channels still there are marked ``resumed``.
        """
        self._resync(list(channels), None)

    def _resync(self, channels: Iterable[Mapping[str, Any]], lists: ResyncLists | None) -> None:
        self.flush()  # a ring held back for its dial burst came before the gap
        try:
            resync_tracker(self._tracker, list(channels), lists)
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

"""ChannelManager: the error boundary between AMI events and reporter hooks.

For each AMI event (once the dialect is known; until then events wait,
see "Dialect" below): ``reporter.trace_ami(event)``; skip the event by
name if no rule of that dialect uses it; parse it into a record (the
record type's ``from_ami``); let the dialect's handler apply it to the
tracker; then drain the tracker's trace messages and call events to the
reporter (``hook_delivery.py``); finally ``reporter.on_event(event)``.

Nothing raises out of ``on_event``: a ``CacofoniskError`` (malformed
event, unknown channel ...) becomes a ``trace_msg`` and a log warning and
the event is dropped; any other exception is a bug, logged with its
traceback and re-raised only with ``strict=True`` (tests). A reporter hook
that raises is logged and reported, and the remaining hooks still run;
with ``strict=True`` the first hook exception is then re-raised, unchanged,
once the event is fully applied and every hook of it ran (so a test with a
broken reporter fails, and the manager stays consistent).
Under panoramisk an exception here would drop the AMI connection.

Dialect: given (``dialect=``), declared by the server (``declare_dialect``,
which runners call at login), or decided from well-formed evidence
(``dialects/evidence.py``: the first channel whose events agree on a
dialect). Until then events are held back, in order, and applied once it
is known; ``flush()``, ``resync()`` or ``HOLD_LIMIT`` waiting events apply
them with the best guess (AMI 1 rules, as before, when nothing tells).
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
from .dialects.evidence import DialectEvidence
from .errors import (CacofoniskError, ChannelGone, ConfigurationError, MalformedEvent,
                     UnknownDialect)
from .fsm.call import Call
from .fsm.channel import Channel
from .hook_delivery import HookDelivery, overridden
from .resync import (RESTART_EVENT, RESYNC_EVENTS, ResyncCollector, ResyncLists,
                     resync_tracker)
from .snapshot import CallSnapshot
from .tracker import MAX_CHANNEL_AGE, MAX_CHANNELS, Tracker

log = logging.getLogger(__name__)

_DIALECTS: dict[str, type[Rules]] = {"ami1": Ami1Rules, "ami2": Ami2Rules}

#: Events held back, at most, while the dialect is unknown; then they are
#: applied with the best guess (a stream that never tells must not wait).
HOLD_LIMIT = 256


def _interesting(*rule_types: type[Rules]) -> frozenset[str]:
    names: set[str] = set()
    for rules_type in rule_types:
        rules = rules_type(Tracker())
        names.update(record_type.EVENT for record_type in rules.handlers)
    return frozenset(names)


#: The parser of each event name some rule consumes (INTERESTING_EVENTS).
_PARSERS = {name: ami.RECORD_TYPES[name].from_ami for name in _interesting(Ami1Rules, Ami2Rules)}

#: What the manager does with an event name: (parser, handler, (header,
#: value) that means "ignore" or None, whether the record goes through the
#: rules' ``release`` while something is held). A step without a parser is
#: a restart marker or a resync's input (``_special_step``), with the live
#: step of the same name, if any, in the handler's place.
Step = tuple[Any, Any, "tuple[str, str] | None", bool]


@mypyc_attr(allow_interpreted_subclasses=True)
class ChannelManager(HookDelivery):
    """Follows the channels and calls of ONE Asterisk server.

    Args:
        reporter: receives trace messages, call-event hooks and the raw
            events (see ``cacofonisk.reporters.BaseReporter``).
        server: a name for the server, copied onto every call event.
        strict: re-raise unexpected exceptions (bugs), and exceptions of
            the reporter's own hooks, instead of only logging them. For
            tests: a hook's exception is re-raised once every hook of the
            event ran.
        dialect: 'ami1' or 'ami2' to force a dialect; by default the
            server declares it (``declare_dialect``) or it is decided from
            well-formed events (``Linkedid`` headers and event types that
            exist in only one dialect, confirmed by a second event about
            the same channel); events wait until then.
        max_channel_age: seconds (by AMI Timestamps) after which a channel
            is taken for one whose Hangup was lost, and dropped with an
            honest on_hangup; None: never. Default: a day.
        max_channels: more channels held than this: the oldest is dropped
            the same way; None: no bound. Default: 50,000.
    """

    #: Every AMI event name some rule or the resync consumes; others may be skipped.
    INTERESTING_EVENTS: ClassVar[frozenset[str]] = frozenset(_PARSERS) | RESYNC_EVENTS

    def __init__(self, reporter: Any, *, server: str = "", strict: bool = False,
                 dialect: str | None = None, max_channel_age: float | None = MAX_CHANNEL_AGE,
                 max_channels: int | None = MAX_CHANNELS) -> None:
        if dialect is not None and dialect not in _DIALECTS:
            raise UnknownDialect(dialect, tuple(sorted(_DIALECTS)))
        if max_channels is not None and max_channels < 1:
            raise ConfigurationError(f"max_channels must be at least 1 (or None: no bound), "
                                     f"not {max_channels!r}")
        if max_channel_age is not None and not max_channel_age > 0:
            raise ConfigurationError(f"max_channel_age must be a number of seconds above 0 "
                                     f"(or None: no bound), not {max_channel_age!r}")
        self._reporter = reporter
        self.server = server
        self.strict = strict
        self._tracker = Tracker(server, max_channel_age=max_channel_age,
                                max_channels=max_channels)
        #: strict: the first exception a reporter hook raised, re-raised at the end.
        self._hook_error: Exception | None = None
        self._dialect = dialect or "ami1"
        self._detected = dialect is not None
        #: While the dialect is unknown: the events held back, and what they said.
        self._pending: list[Mapping[str, Any]] = []
        self._evidence = DialectEvidence()
        self._releasing = False
        self._rules: Rules = _DIALECTS[self._dialect](self._tracker)
        #: event name -> (parser, handler, (header, value) that means "ignore",
        #: whether the record may end something ``held``); see _bind_rules
        self._steps: dict[str, Step] = {}
        self._held: dict[str, Any] = {}
        self._resync_input = ResyncCollector()
        self._bind_rules()
        # BaseReporter's no-op trace_ami/on_event are not called: two calls
        # saved per event. A hook set on the instance later is still seen.
        self._reporter_attrs: dict[str, Any] = getattr(reporter, "__dict__", {})
        self._calls_trace_ami = overridden(reporter, "trace_ami")
        self._calls_on_event = overridden(reporter, "on_event")

    def __repr__(self) -> str:
        return (f"<ChannelManager server={self.server!r} dialect={self.dialect} "
                f"channels={len(self._tracker.channels)} calls={len(self._tracker.calls)}>")

    # -- what it knows --------------------------------------------------------

    @property
    def dialect(self) -> str:
        """'ami1' or 'ami2' once known ('unknown' until declared or confirmed by the events)."""
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
        """No channel, call or bridge is held, nor an event waiting for the dialect."""
        tracker = self._tracker
        return not (self._pending or len(tracker.channels) or len(tracker.calls) or len(tracker.bridges))

    # -- input ---------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Apply one AMI event. Never raises (unless ``strict`` and a bug).

        This runs for every event of a busy server, so it does as little as
        it can: one table lookup tells whether the current dialect has a
        rule for the event (and whether the event is one the dialect
        ignores, ``Rules.IGNORE_WHEN``); only then is it parsed into its record.
        Until the dialect is known, events are held back (``_hold``).
        """
        if not self._detected and not self._releasing and self._held_back(event):
            return
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
            step = self._steps.get(name)
            if step is not None and step[0] is None:
                step = self._special_step(name, event, step[1])
            if step is not None and (step[2] is None or event.get(step[2][0]) != step[2][1]):
                record = step[0](event)
                tracker.timestamp = record.timestamp
                if self._held and step[3]:
                    self._rules.release(record)
                step[1](record)
        except ChannelGone as err:
            log.debug("%s", err)  # Asterisk's normal late updates: not worth a trace
        except CacofoniskError as err:
            log.warning("%s", err)
            tracker.counters["malformed_events" if isinstance(err, MalformedEvent)
                             else "unplaced_events"] += 1
            tracker.trace(str(err))
        except Exception as err:  # a bug: report it, keep the connection alive
            log.exception("bug while applying %s event", _name_of(event))
            tracker.counters["internal_errors"] += 1
            tracker.trace(f"internal error on {_name_of(event)} event: {err!r}")
            if self.strict:
                self._drain()
                raise
        if tracker.traces or tracker.outbox:
            self._drain()
        if self._calls_on_event or "on_event" in self._reporter_attrs:
            self._call("on_event", self._reporter.on_event, event)
        if self._hook_error is not None:
            self._raise_hook_error()

    def _bind_rules(self) -> None:
        """Index the current dialect's handlers by event name, with their parsers."""
        rules = self._rules
        ignore = rules.IGNORE_WHEN
        steps: dict[str, Step] = {
            record_type.EVENT: (_PARSERS[record_type.EVENT], handler, ignore.get(record_type.EVENT),
                                rules.may_release(record_type))
            for record_type, handler in rules.handlers.items()}
        # The restart marker and a resync's list answers share the one
        # lookup every event makes: a step without a parser sends them to
        # _special_step, with the dialect's own step (or None) for an event
        # that turns out to be a live one (a UserEvent that is no barrier).
        for name in RESYNC_EVENTS:
            steps[name] = (None, steps.get(name), None, False)
        self._steps = steps
        self._held = rules.held

    def _special_step(self, name: str, event: Mapping[str, Any], live: Step | None) -> Step | None:
        """A restart marker or a resync's input: act on it; the step left to apply, if any."""
        if name == RESTART_EVENT:  # a runner saw Asterisk's startup time move
            self._restart()
            return None
        if self._take_resync_input(name, event):
            return None  # a list answer or a barrier: never a call event
        return live

    def _held_back(self, event: Mapping[str, Any]) -> bool:
        """While the dialect is unknown: keep back an event a dialect would apply its own way.

        The event is parsed here to learn what it says about its channel
        (``DialectEvidence``). A channel's story (from its Newchannel on)
        waits, and so does everything after it, to keep the stream's
        order; the events are applied, each with its trace_ami and
        on_event, once the dialect is known. Garbage, malformed events and
        events about no channel of a story apply at once (no dialect
        would keep anything of them).

        Returns:
            True if the event was taken (held, or applied with the rest).
        """
        try:
            parser = _PARSERS.get(_name_of(event))
            record = parser(event) if parser is not None else None
        except Exception:  # noqa: BLE001 - malformed: no evidence; reported when applied
            record = None
        evidence = self._evidence
        if not self._pending and (record is None or not evidence.concerns(record)):
            if record is not None and record.EVENT not in self._steps:
                self._tracker.trace(f"{record.EVENT} event about a channel we never saw, while "
                                    f"the AMI dialect is not known yet: ignored")
            return False
        self._pending.append(event)
        decided = evidence.observe(record, event) if record is not None else None
        if decided is not None:
            log.info("server %r speaks %s (from its events)", self.server, decided)
            self._use_dialect(decided)
            self._release()
        elif len(self._pending) >= HOLD_LIMIT:
            self._settle()
        return True

    def _settle(self) -> None:
        """Apply the held events now, with the best guess of the dialect (or AMI 1 rules)."""
        guess = self._evidence.best_guess()
        if guess is not None and not self._detected:
            log.info("server %r: guessing %s from unconfirmed events", self.server, guess)
            self._use_dialect(guess)
        self._release()

    def _release(self) -> None:
        """Apply the held events, in order, as if they came now."""
        pending, self._pending = self._pending, []
        self._releasing = True
        first: Exception | None = None
        try:
            for event in pending:
                try:
                    self.on_event(event)
                except Exception as err:  # strict only: apply the rest, then re-raise
                    first = first or err
        finally:
            self._releasing = False
        if first is not None:
            raise first

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
        self._use_dialect(name)
        log.info("server %r declared %s", self.server, name)
        if self._pending:
            self._release()

    def _use_dialect(self, name: str) -> None:
        """Switch to dialect ``name`` (reporting what the old rules held back)."""
        self._detected = True
        if name == self._dialect and self._rules.NAME == name:
            return
        if self._held:
            self._flush_rules()
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
        the core: this is an explicit input. Events held back while the
        dialect is unknown are applied first, with the best guess.
        """
        if self._pending:
            self._settle()
        self._flush_rules()
        if self._hook_error is not None:
            self._raise_hook_error()

    def _flush_rules(self) -> None:
        """Report what the rules hold back for a dial burst; apply the channel bounds."""
        try:
            self._rules.flush()
            self._tracker.bound_channels()
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
        if self._hook_error is not None:
            self._raise_hook_error()

    def _resync(self, channels: Iterable[Mapping[str, Any]], lists: ResyncLists | None) -> None:
        """Apply a resync (held-back events and rings first); hook errors wait for the caller."""
        if self._pending:
            self._settle()
        self._flush_rules()  # a ring held back for its dial burst came before the gap
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

    def server_restarted(self) -> None:
        """Asterisk restarted: end every call from before it, honestly.

        Channel names start again from 0 after a restart, so a call kept
        from before would meet a new channel that reuses its name. Each
        call in flight ends with on_hangup (``hangup_by`` 'unknown:
        Asterisk restarted'), and channels, calls and bridges are freed.
        The manager does this itself on a FullyBooted that follows a
        Shutdown in the stream (a FullyBooted alone only marks a login);
        a runner calls it when it learns of a restart some other way. The
        live runner does so at a reconnect whose ``CoreStatus`` startup
        time differs from the previous session's, by handing ``on_event``
        a ``RESTART_EVENT`` (``cacofonisk.resync``) before the resync, so a
        recording replays the same.
        """
        self._restart()
        self._drain()
        if self._hook_error is not None:
            self._raise_hook_error()

    def _restart(self) -> None:
        """End the calls from before a restart; hook errors wait for the caller."""
        if self._pending:
            self._settle()
        self._flush_rules()
        try:
            self._tracker.server_restarted()
        except Exception as err:
            log.exception("bug while ending the calls of a restarted server")
            self._tracker.counters["internal_errors"] += 1
            self._tracker.trace(f"internal error after a restart: {err!r}")
            if self.strict:
                self._drain()
                raise
        self._tracker.trace("Asterisk restarted: the calls from before it ended")

    def drop_channel(self, uniqueid: str, why: str) -> bool:
        """Drop a channel Asterisk no longer has though its Hangup never came.

        Its call, if it is a caller's, ends with an honest on_hangup
        (``hangup_by`` ``'unknown: ' + why``); see ``Tracker.drop_channel``.
        Counted in ``health_counters()['stale_channels_dropped']``.

        Args:
            uniqueid: the channel's Uniqueid.
            why: what showed it is gone (e.g. 'not listed by CoreShowChannels').

        Returns:
            False if no such channel is held.
        """
        channel = self._tracker.channels.get(uniqueid)
        if channel is None:
            return False
        self._tracker.drop_channel(channel, why)
        self._drain()
        if self._hook_error is not None:
            self._raise_hook_error()
        return True

    def health_counters(self) -> dict[str, int]:
        """What the manager dropped or refused so far (a new dict; runners add it to health()).

        Keys: ``stale_channels_dropped`` (channels whose Hangup was lost,
        dropped: name reused, too old, too many, restart, drop_channel,
        not listed by a resync),
        ``restarts_seen``, ``malformed_events`` (missing or bad headers),
        ``unplaced_events`` (about channels or bridges never seen, steps a
        machine refuses), ``hook_errors`` (reporter hooks that raised),
        ``internal_errors`` (bugs), ``held_events`` (waiting for the
        dialect to be known), ``channels``, ``calls`` and ``bridges`` held.
        """
        tracker = self._tracker
        return {**tracker.counters, "held_events": len(self._pending),
                "channels": len(tracker.channels), "calls": len(tracker.calls),
                "bridges": len(tracker.bridges)}

def _name_of(event: Mapping[str, Any]) -> str:
    try:
        return ami.event_name(event) or "unnamed"
    except Exception:
        return "unnamed"

"""Choosing the AMI dialect: events wait, in order, until it is known.

The base class of ``ChannelManager`` that holds its dialect: given at
construction, declared by the server (``declare_dialect``, which runners
call at login), or decided from well-formed evidence
(``dialects/evidence.py``: the first channel whose events agree on a
dialect). Until then, an event that starts or continues a channel's story
is held back, and so is everything after it, to keep the stream's order;
once the dialect is known the held events are applied as if they came
then. ``flush()``, ``resync()`` or ``HOLD_LIMIT`` waiting events apply them
with the best guess (AMI 1 rules, as before, when nothing tells). Why a
separate module: this runs for the first few dozen events of a stream
only, and keeps ``manager.py`` to the per-event path.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from . import events as ami
from ._mypyc import mypyc_attr
from .dialects.ami1 import Ami1Rules
from .dialects.ami2 import Ami2Rules
from .dialects.common import Rules
from .dialects.evidence import DialectEvidence
from .errors import UnknownDialect
from .hook_delivery import HookDelivery
from .tracker import Tracker

log = logging.getLogger("cacofonisk.manager")

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


@mypyc_attr(allow_interpreted_subclasses=True)
class DialectHold(HookDelivery):
    """The dialect part of ``ChannelManager`` (its base class; see the module docstring).

    Attributes (set by ``ChannelManager.__init__``):
        server: the server's name, for the log.
        _dialect: the dialect's name ('ami1' until known).
        _detected: whether the dialect is known.
        _rules: the current dialect's rules.
        _pending: the events held back while the dialect is unknown.
        _evidence: what the held events said about the dialect.
        _releasing: the held events are being applied (do not hold them again).
        _steps: the manager's per-event table, indexed by event name.
        _held: the rules' ``held`` (call events a dialect keeps back).
    """

    server: str
    _dialect: str
    _detected: bool
    _rules: Rules
    _pending: list[Mapping[str, Any]]
    _evidence: DialectEvidence
    _releasing: bool
    _steps: dict[str, Any]
    _held: dict[str, Any]

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Apply one AMI event (``ChannelManager.on_event``)."""
        raise NotImplementedError

    def _bind_rules(self) -> None:
        """Index the current dialect's handlers (``ChannelManager._bind_rules``)."""
        raise NotImplementedError

    def _flush_rules(self) -> None:
        """Report what the rules hold back (``ChannelManager._flush_rules``)."""
        raise NotImplementedError

    @property
    def dialect(self) -> str:
        """'ami1' or 'ami2' once known ('unknown' until declared or confirmed by the events)."""
        return self._dialect if self._detected else "unknown"

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


def _name_of(event: Mapping[str, Any]) -> str:
    """The event's name for a message; never raises (the event may be garbage)."""
    try:
        return ami.event_name(event) or "unnamed"
    except Exception:
        return "unnamed"

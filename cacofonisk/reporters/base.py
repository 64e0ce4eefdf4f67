"""BaseReporter: the reporter hooks (docs/api.md), all no-ops, for users to subclass.

The manager hands each call event to ``on_call_event(record)``; the
default implementation calls the positional 2017 hook for it. A reporter
that wants whole records (server, event id, hangup cause ...) overrides
``on_call_event`` instead of the individual hooks.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..callerid import CallerId
from ..calls import CallEvent, hook_of


@runtime_checkable
class Reporter(Protocol):
    """What a ChannelManager needs from a reporter (BaseReporter has it all)."""

    def trace_ami(self, event: Any) -> None: ...

    def trace_msg(self, msg: str) -> None: ...

    def on_event(self, event: Any) -> None: ...

    def close(self) -> None: ...


def deliver(reporter: Any, record: CallEvent) -> None:
    """Hand one call event to a reporter: whole if it takes records, else as its hook.

    A reporter without the specific blind/blonde hook gets on_cold_transfer.
    """
    whole = getattr(reporter, "on_call_event", None)
    if whole is not None:
        whole(record)
        return
    method = getattr(reporter, hook_of(record), None) or getattr(reporter, record.HOOK, None)
    if method is not None:
        method(*record.args())


class BaseReporter:
    """Every reporter hook, doing nothing. Subclass and override what you need.

    Call events (one per hook call; ``call_id`` is the caller's Uniqueid):

    * ``on_b_dial(call_id, caller, to_number, targets)``: targets start ringing.
    * ``on_b_dial_end(call_id, caller, to_number, targets, reason)``: some
      stop ringing (``reason``: Asterisk's DialStatus in lower case).
    * ``on_up(call_id, caller, to_number, callee)``: answered (again after
      a transfer).
    * ``on_warm_transfer(call_id, merged_id, redirector, caller, destination)``:
      an attended transfer.
    * ``on_cold_transfer(call_id, merged_id, redirector, caller, to_number,
      targets)``: a blind or blonde transfer (``on_blind_transfer`` /
      ``on_blonde_transfer`` if you override them).
    * ``on_hangup(call_id, caller, to_number, reason)``: the call ended.
    * ``on_queue_caller_abandon(call_id, caller, to_number)``,
      ``on_user_event(event)``.
    * ``on_call_event(record)``: any of them as a whole record (``cacofonisk.calls``).

    Raw input: ``trace_ami(event)`` before and ``on_event(event)`` after each
    AMI event; ``trace_msg(msg)`` for the tracker's diagnostics; ``close()``
    at the end. When each fires, which hooks follow a transfer and every
    ``reason`` value: docs/api.md in the repository; the state hooks new in
    1.0 (hold, park, queue, conference): docs/state-hooks.md.
    """

    def trace_ami(self, event: Any) -> None:
        """Every AMI event, before it is processed.

        ``event`` is a plain ``dict`` of the headers with the names as
        Asterisk spelled them (``event["Uniqueid"]``; a repeated header is
        a list), live (AmiRunner) as in a replay (FileRunner). Live events
        are no longer panoramisk ``Message`` objects: read them with the
        exact header name, not ``event["uniqueid"]`` or ``event.uniqueid``.
        Do not change it: the manager reads it after you.
        """

    def trace_msg(self, msg: str) -> None:
        """A diagnostic message from the tracker."""

    def on_event(self, event: Any) -> None:
        """Every AMI event, after it is processed (the same dict as ``trace_ami``)."""

    def close(self) -> None:
        """End of input: flush buffered output."""

    def on_call_event(self, record: CallEvent) -> None:
        """One call event, whole. By default: call its hook (above) positionally."""
        getattr(self, hook_of(record))(*record.args())

    def on_b_dial(self, call_id: str, caller: CallerId, to_number: str | None,
                  targets: list[CallerId]) -> None:
        """Asterisk starts ringing the B side (all targets at once)."""

    def on_b_dial_end(self, call_id: str, caller: CallerId, to_number: str | None,
                      targets: list[CallerId], reason: str) -> None:
        """Some targets stopped ringing; reason is Asterisk's DialStatus in lower case."""

    def on_up(self, call_id: str, caller: CallerId, to_number: str | None,
              callee: CallerId) -> None:
        """The call is answered (again after a transfer)."""

    def on_warm_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                         caller: CallerId, destination: CallerId) -> None:
        """An attended transfer completed."""

    def on_cold_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                         caller: CallerId, to_number: str | None,
                         targets: list[CallerId]) -> None:
        """A blind or blonde transfer completed."""

    def on_blind_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                          caller: CallerId, to_number: str | None,
                          targets: list[CallerId]) -> None:
        """A blind transfer completed; by default the same as on_cold_transfer."""
        self.on_cold_transfer(call_id, merged_id, redirector, caller, to_number, targets)

    def on_blonde_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                           caller: CallerId, to_number: str | None,
                           targets: list[CallerId]) -> None:
        """A blonde transfer completed; by default the same as on_cold_transfer."""
        self.on_cold_transfer(call_id, merged_id, redirector, caller, to_number, targets)

    def on_hangup(self, call_id: str, caller: CallerId, to_number: str | None,
                  reason: str) -> None:
        """The call ended for the caller."""

    def on_queue_caller_abandon(self, call_id: str, caller: CallerId,
                                to_number: str | None) -> None:
        """The caller left a queue before anyone answered."""

    def on_user_event(self, event: Any) -> None:
        """A UserEvent from the dialplan, passed through."""

    # -- state hooks (docs/state-hooks.md, new in 1.0): no-ops, so a reporter
    # written for the 2017 hooks sees nothing new --------------------------------

    def on_hold(self, call_id: str, caller: CallerId, to_number: str | None,
                holder: CallerId) -> None:
        """``holder`` put the other side of the call on hold."""

    def on_unhold(self, call_id: str, caller: CallerId, to_number: str | None,
                  holder: CallerId) -> None:
        """``holder`` took the other side off hold (or its transfer ended the hold)."""

    def on_park(self, call_id: str, caller: CallerId, to_number: str | None,
                parked: CallerId, parker: CallerId, lot: str, space: str) -> None:
        """``parked`` waits in parking lot ``lot``, space ``space``, parked by ``parker``."""

    def on_park_end(self, call_id: str, caller: CallerId, to_number: str | None,
                    parked: CallerId, reason: str, retriever: CallerId | None) -> None:
        """The park ended: 'retrieved' (by ``retriever``), 'timeout' or 'gave-up'."""

    def on_queue_join(self, call_id: str, caller: CallerId, to_number: str | None,
                      queue: str, position: int) -> None:
        """The caller waits in ``queue`` at ``position`` (1 = first)."""

    def on_queue_leave(self, call_id: str, caller: CallerId, to_number: str | None,
                       queue: str, reason: str) -> None:
        """The caller left ``queue``: 'answered', 'abandoned', 'timeout' or 'exit'."""

    def on_conference_join(self, call_id: str, caller: CallerId, to_number: str | None,
                           party: CallerId, room: str) -> None:
        """``party`` entered conference ``room``."""

    def on_conference_leave(self, call_id: str, caller: CallerId, to_number: str | None,
                            party: CallerId, room: str) -> None:
        """``party`` left conference ``room``."""


class SilentReporter(BaseReporter):
    """A reporter that ignores everything (useful in tests and benchmarks)."""


def sees_raw_events(reporter: Any) -> bool:
    """Whether ``reporter`` wants every raw AMI event, even those no rule consumes.

    True when it has a ``trace_ami`` or ``on_event`` of its own (not
    BaseReporter's no-ops), as ``JsonReporter`` has: runners then hand it
    every event that arrived (FileRunner does not skip by name, AmiRunner
    neither skips nor asks Asterisk for an event filter), so a recording is
    complete. A fan-out (a ``reporters`` list, as ``MultiReporter`` has)
    sees them if one of its reporters does. A reporter can say it outright
    with a boolean ``wants_every_event`` attribute (the live view's counter
    sets it False: it counts the events the tracker applies). A duck-typed
    reporter with such a method counts.
    """
    declared = getattr(reporter, "wants_every_event", None)
    if isinstance(declared, bool):
        return declared
    children = getattr(reporter, "reporters", None)
    if isinstance(children, (list, tuple)):
        return any(sees_raw_events(child) for child in children)
    for hook in ("trace_ami", "on_event"):
        if hook in getattr(reporter, "__dict__", {}):
            return True
        method = getattr(type(reporter), hook, None)
        if method is None:
            if getattr(reporter, hook, None) is not None:
                return True
        elif method not in (BaseReporter.trace_ami, BaseReporter.on_event):
            return True
    return False

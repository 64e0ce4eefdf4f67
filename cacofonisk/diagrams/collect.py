"""CallCollector: a reporter that remembers what each call and channel did.

It is added beside the user's reporter (``MultiReporter``), so it sees
exactly what any reporter sees and needs nothing from the manager's
insides:

* ``trace_ami(raw)`` comes first for every AMI event: the event is numbered
  (its sequence number is the time axis when the log has no ``Timestamp``),
  parsed with ``events.parse`` (AMI header names stay in events.py) and
  turned into channel happenings: created, dial, ringing, up, bridge,
  transfer, hangup ...;
* ``on_call_event(record)`` comes while that event is applied: the record is
  filed under its call, and its trigger (``TRIGGER_OF``) extends the call's
  path through the call machine. A transfer also ``merge``s the call it
  names in ``merged_id``, as ``Tracker.merge`` does;
* ``on_event(raw)`` comes last: a call is closed when its anchor channel (the
  one whose Uniqueid is the call id) has hung up, or when no channel is left,
  because that is when the tracker frees it; a later record with the same id
  then belongs to a new call, as it does in the tracker.

Channels are grouped into conversations with a union-find: same Linkedid
(AMI 2+), dial source and destination, the two halves of a Local channel,
1.x bridge links and masquerades, transfer parties, and the two calls a
transfer joins. A call's timeline shows the channels of its group.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import calls
from .. import events as ami
from ..errors import CacofoniskError
from ..reporters.base import BaseReporter
from ..reporters.debug import describe

#: the call-machine trigger each call event is the after-callback of (see
#: ``Tracker._report``); ``merge`` has no record of its own
TRIGGER_OF: dict[type[calls.CallEvent], str] = {
    calls.BDial: "ring",
    calls.BDialEnd: "dial_end",
    calls.Up: "answer",
    calls.WarmTransfer: "transfer",
    calls.ColdTransfer: "transfer",
    calls.Hangup: "end",
    calls.QueueCallerAbandon: "abandon",
}

#: Asterisk ChannelState numbers -> (mark kind, lane state)
_AST_STATES = {3: ("dialing", "dialing"), 4: ("ring", "dialing"), 5: ("ringing", "ringing"),
               6: ("up", "up"), 7: ("busy", "ringing")}


@attrs.frozen(slots=True)
class Happening:
    """One mark on a lane.

    Attributes:
        seq: number of the AMI event (1-based, per log) that caused it.
        time: that event's AMI Timestamp, None when the server sends none.
        kind: what happened (created, dial, ringing, up, bridge, transfer,
            hangup ...; on a call lane the call-machine trigger).
        label: a few words for the picture, with caller ids.
        detail: the full story (a tooltip).
    """

    seq: int
    time: float | None
    kind: str
    label: str
    detail: str = ""


@attrs.define(slots=True, eq=False)
class ChannelLife:
    """What one channel did, from Newchannel to Hangup.

    Attributes:
        states: (seq, lane state) each time its drawn state changed:
            down, dialing, ringing, up, bridged, held.
        bridges: 2+ bridges it is in now.
    """

    uniqueid: str
    name: str
    number: str
    caller_name: str
    created: int
    ended: int | None = None
    happenings: list[Happening] = attrs.Factory(list)
    states: list[tuple[int, str]] = attrs.Factory(list)
    bridges: set[str] = attrs.Factory(set)

    @property
    def party(self) -> str:
        """Who the channel is, shortly: its caller-id number, else its name."""
        return self.number or self.caller_name or self.name

    def note(self, happening: Happening, state: str | None = None) -> None:
        """Add a mark and, when given, the lane state from then on."""
        self.happenings.append(happening)
        if state is not None and (not self.states or self.states[-1][1] != state):
            self.states.append((happening.seq, state))


@attrs.define(slots=True, eq=False)
class CallHistory:
    """One call as the reporter saw it.

    Attributes:
        call_id: the call id of its events.
        log: the event log it came from.
        instance: 1, or n for the n-th call with this id in the log.
        records: (seq, call event) in order.
        marks: what to draw on the call's own lane (one per path step).
        path: the call-machine triggers, in order (what ``Call.path`` holds).
        closed: the tracker has freed it (anchor gone, or no channel left).
    """

    call_id: str
    log: LogView
    instance: int = 1
    records: list[tuple[int, calls.CallEvent]] = attrs.Factory(list)
    marks: list[Happening] = attrs.Factory(list)
    path: list[str] = attrs.Factory(list)
    closed: bool = False

    @property
    def name(self) -> str:
        """The call id, with ``~n`` for a later call that reuses it."""
        return self.call_id if self.instance == 1 else f"{self.call_id}~{self.instance}"

    @property
    def is_final(self) -> bool:
        """It ended or was merged: the call machine accepts nothing more."""
        return bool(self.path) and self.path[-1] in ("end", "merge")

    @property
    def caller(self) -> str:
        """The caller's number (from its first call event that names one)."""
        for _seq, record in self.records:
            caller = getattr(record, "caller", None)
            if caller is not None and (caller.number or caller.name):
                return str(caller.number or caller.name)
        return ""


class LogView:
    """The channels, groups and calls of one event log (one ChannelManager)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.time: float | None = None
        self.channels: dict[str, ChannelLife] = {}
        self.by_name: dict[str, str] = {}
        self.live: set[str] = set()
        self.open_calls: dict[str, CallHistory] = {}
        self.calls: list[CallHistory] = []
        self.hung_up: str | None = None
        self.transferers: tuple[str, ...] = ()
        self._parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        """The representative of ``key``'s group (path halving)."""
        parent = self._parent
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, *keys: str | None) -> None:
        """Put every non-empty key in one group."""
        present = [key for key in keys if key]
        for other in present[1:]:
            self._parent[self.find(other)] = self.find(present[0])

    def group(self, key: str) -> list[ChannelLife]:
        """The channels in ``key``'s group, in order of creation."""
        root = self.find(key)
        return [life for uid, life in self.channels.items() if self.find(uid) == root]

    def lookup(self, uniqueid: str | None = None, name: str | None = None) -> ChannelLife | None:
        """A channel by Uniqueid, else by (current) name."""
        if uniqueid and uniqueid in self.channels:
            return self.channels[uniqueid]
        if name and name in self.by_name:
            return self.channels.get(self.by_name[name])
        return None

    def party(self, uniqueid: str | None, fallback: str = "?") -> str:
        """Short name of a channel for a label."""
        life = self.lookup(uniqueid)
        return life.party if life is not None else (fallback or "?")

    def at(self, kind: str, label: str, detail: str = "") -> Happening:
        """A happening at the event being applied."""
        return Happening(self.seq, self.time, kind, label, detail)


Handler = Callable[["CallCollector", LogView, Any], None]


class CallCollector(BaseReporter):
    """Collects per-call paths and per-channel happenings during a replay.

    Call ``start_log(name)`` before each event log (each ChannelManager):
    sequence numbers and channel groups are per log.
    """

    def __init__(self) -> None:
        self.logs: list[LogView] = []

    @property
    def calls(self) -> list[CallHistory]:
        """Every call of every log, in order of their first event."""
        return [call for log in self.logs for call in log.calls]

    def start_log(self, name: str) -> None:
        """The next events come from a new log (and a new manager)."""
        self.logs.append(LogView(name))

    def _log(self) -> LogView:
        if not self.logs:
            self.start_log("events")
        return self.logs[-1]

    # -- reporter hooks ---------------------------------------------------

    def trace_ami(self, event: Any) -> None:
        """Number the event and note what it does to its channels."""
        log = self._log()
        log.seq += 1
        log.hung_up = None
        log.transferers = ()
        try:
            record = ami.parse(event)
        except CacofoniskError:
            return  # the manager reports malformed events; nothing to draw
        log.time = record.timestamp
        handler = _HANDLERS.get(type(record))
        if handler is not None:
            handler(self, log, record)

    def on_call_event(self, record: calls.CallEvent) -> None:
        """File a call event under its call and extend the call's path."""
        trigger = TRIGGER_OF.get(type(record))
        if trigger is None:
            return  # user events are not call-machine steps
        log = self._log()
        history = self._open(log, record.call_id)
        seq = log.seq
        history.records.append((seq, record))
        history.path.append(trigger)
        history.marks.append(Happening(seq, record.timestamp or log.time, trigger,
                                       _call_label(record), describe(record)))
        merged = getattr(record, "merged_id", "")
        if merged:
            # Tracker.merge for merged_id, then (2+ attended transfers) for
            # both transferers' calls: each ends silently in 'merged'
            for other_id in dict.fromkeys((merged, *log.transferers)):
                log.union(record.call_id, other_id)
                other = log.open_calls.get(other_id)
                if other_id != record.call_id and other is not None and not other.is_final:
                    other.path.append("merge")
                    other.marks.append(log.at(
                        "merge", f"merged into {log.party(record.call_id)}",
                        f"merged into call {record.call_id}"))

    def on_event(self, event: Any) -> None:
        """After the event: close what the tracker has freed."""
        log = self._log()
        gone, log.hung_up = log.hung_up, None
        if gone is None:
            return
        history = log.open_calls.pop(gone, None)
        if history is not None:
            history.closed = True
        if not log.live:
            for history in log.open_calls.values():
                history.closed = True
            log.open_calls.clear()

    @staticmethod
    def _open(log: LogView, call_id: str) -> CallHistory:
        history = log.open_calls.get(call_id)
        if history is None or history.is_final:
            count = sum(1 for call in log.calls if call.call_id == call_id)
            history = CallHistory(call_id, log, instance=count + 1)
            log.open_calls[call_id] = history
            log.calls.append(history)
        return history


def _cid(cid: Any) -> str:
    return str(getattr(cid, "number", None) or getattr(cid, "name", None) or "?")


def _call_label(record: calls.CallEvent) -> str:
    """A few words for a call event on the call lane."""
    if isinstance(record, calls.BDial):
        return "b_dial → " + ", ".join(_cid(t) for t in record.targets)
    if isinstance(record, calls.BDialEnd):
        return f"b_dial_end {record.reason} " + ", ".join(_cid(t) for t in record.targets)
    if isinstance(record, calls.Up):
        return f"up: {_cid(record.caller)} ↔ {_cid(record.callee)}"
    if isinstance(record, calls.WarmTransfer):
        return f"attended transfer by {_cid(record.redirector)} → {_cid(record.destination)}"
    if isinstance(record, calls.ColdTransfer):
        targets = ", ".join(_cid(t) for t in record.targets) or (record.to_number or "?")
        return f"{record.kind or 'cold'} transfer by {_cid(record.redirector)} → {targets}"
    if isinstance(record, calls.Hangup):
        return f"hangup {record.reason}"
    if isinstance(record, calls.QueueCallerAbandon):
        return f"abandon {record.queue}".strip()
    return record.HOOK


# -- channel happenings, one handler per record type ------------------------

def _newchannel(self: CallCollector, log: LogView, rec: ami.Newchannel) -> None:
    life = ChannelLife(rec.uniqueid, rec.channel, rec.caller_id_num, rec.caller_id_name,
                       created=log.seq)
    log.channels[rec.uniqueid] = life
    log.by_name[rec.channel] = rec.uniqueid
    log.live.add(rec.uniqueid)
    log.union(rec.uniqueid, rec.linkedid)
    if rec.channel.startswith("Local/"):
        log.union(rec.uniqueid, "local:" + rec.channel.rsplit(";", 1)[0])
    _kind, state = _AST_STATES.get(rec.state, ("", "down"))
    exten = f" ({rec.exten})" if rec.exten not in ("", "s") else ""
    life.note(log.at("created", f"new {life.party}{exten}",
                     f"Newchannel {rec.channel} caller {rec.caller_id_num} "
                     f"{rec.caller_id_name} exten {rec.exten}"), state)


def _newstate(self: CallCollector, log: LogView, rec: ami.Newstate) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is None or rec.state not in _AST_STATES:
        return
    if rec.caller_id_num and not life.number:
        life.number = rec.caller_id_num
    kind, state = _AST_STATES[rec.state]
    if life.bridges and state == "up":
        state = "bridged"
    life.note(log.at(kind, f"{kind} {life.party}", f"Newstate {rec.channel}: {kind}"), state)


def _new_callerid(self: CallCollector, log: LogView, rec: ami.NewCallerid) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is not None:
        life.number = rec.caller_id_num or life.number
        life.caller_name = rec.caller_id_name or life.caller_name


def _rename(self: CallCollector, log: LogView, rec: ami.Rename) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is not None:
        log.by_name[rec.new_name] = life.uniqueid


def _dial_begin(log: LogView, source: str | None, dest: str, dest_name: str) -> None:
    log.union(source, dest)
    life = log.lookup(source)
    if life is not None:
        to = log.party(dest, dest_name)
        life.note(log.at("dial", f"dial → {to}", f"{life.name} dials {dest_name or dest}"))


def _dial_end(log: LogView, source: str | None, dest: str, status: str) -> None:
    life = log.lookup(source)
    if life is not None:
        to = log.party(dest)
        life.note(log.at("dial_end", f"dial end {status.lower()} {to}",
                         f"dial from {life.name} to {to} ended: {status}"))


def _dialbegin2(self: CallCollector, log: LogView, rec: ami.DialBegin) -> None:
    _dial_begin(log, rec.uniqueid, rec.dest_uniqueid, rec.dest_channel)


def _dialend2(self: CallCollector, log: LogView, rec: ami.DialEnd) -> None:
    _dial_end(log, rec.uniqueid, rec.dest_uniqueid, rec.dial_status)


def _dial1(self: CallCollector, log: LogView, rec: ami.Dial) -> None:
    if rec.sub_event.lower() == "begin":
        _dial_begin(log, rec.uniqueid, rec.dest_uniqueid, rec.destination)
    elif rec.sub_event.lower() == "end":
        _dial_end(log, rec.uniqueid, rec.dest_uniqueid, rec.dial_status)


def _enter(self: CallCollector, log: LogView, rec: ami.BridgeEnter) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is None:
        return
    others = [o.party for o in log.channels.values()
              if rec.bridge_uniqueid in o.bridges and o is not life]
    life.bridges.add(rec.bridge_uniqueid)
    with_ = f" with {', '.join(others)}" if others else ""
    life.note(log.at("bridge", f"bridge{with_}", f"{life.name} enters bridge "
                     f"{rec.bridge_uniqueid}{with_}"), "bridged")


def _leave(self: CallCollector, log: LogView, rec: ami.BridgeLeave) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is None:
        return
    life.bridges.discard(rec.bridge_uniqueid)
    life.note(log.at("unbridge", "leave bridge", f"{life.name} leaves bridge "
                     f"{rec.bridge_uniqueid}"), "bridged" if life.bridges else "up")


def _bridge1(self: CallCollector, log: LogView, rec: ami.Bridge) -> None:
    one = log.lookup(rec.uniqueid1, rec.channel1)
    two = log.lookup(rec.uniqueid2, rec.channel2)
    if one is None or two is None:
        return
    linked = rec.bridge_state.lower() != "unlink"
    if linked:
        log.union(one.uniqueid, two.uniqueid)
    for life, other in ((one, two), (two, one)):
        if linked:
            life.note(log.at("bridge", f"bridge with {other.party}",
                             f"{life.name} linked to {other.name}"), "bridged")
        else:
            life.note(log.at("unbridge", f"unlink {other.party}",
                             f"{life.name} unlinked from {other.name}"), "up")


def _masquerade(self: CallCollector, log: LogView, rec: ami.Masquerade) -> None:
    original = log.lookup(name=rec.original)
    clone = log.lookup(name=rec.clone)
    if original is None or clone is None:
        return
    log.union(original.uniqueid, clone.uniqueid)
    for life, other in ((original, clone), (clone, original)):
        life.note(log.at("masquerade", f"masquerade {other.party}",
                         f"Masquerade: clone {rec.clone} into original {rec.original}"))


def _transfer1(self: CallCollector, log: LogView, rec: ami.Transfer) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    target = log.lookup(rec.target_uniqueid, rec.target_channel)
    log.union(life.uniqueid if life else None, target.uniqueid if target else None)
    if life is not None:
        to = rec.transfer_exten or (target.party if target else rec.target_channel)
        life.note(log.at("transfer", f"{rec.transfer_type.lower()} transfer → {to}",
                         f"{life.name}: {rec.transfer_type} transfer of "
                         f"{rec.target_channel} to {to}"))


def _blind(self: CallCollector, log: LogView, rec: ami.BlindTransfer) -> None:
    log.union(rec.transferer, rec.transferee)
    transferer = log.lookup(rec.transferer)
    if transferer is not None:
        transferer.note(log.at("transfer", f"blind transfer → {rec.extension}",
                               f"{transferer.name} blind-transfers "
                               f"{log.party(rec.transferee)} to {rec.extension} ({rec.result})"))
    transferee = log.lookup(rec.transferee)
    if transferee is not None:
        transferee.note(log.at("transferred", f"transferred → {rec.extension}",
                               f"blind transfer to {rec.extension} by "
                               f"{log.party(rec.transferer)}"))


def _attended(self: CallCollector, log: LogView, rec: ami.AttendedTransfer) -> None:
    log.transferers = tuple(uid for uid in (rec.orig_transferer, rec.second_transferer) if uid)
    log.union(rec.orig_transferer, rec.second_transferer, rec.transferee, rec.transfer_target)
    target = log.party(rec.transfer_target, rec.transfer_target_num)
    for uid in (rec.orig_transferer, rec.second_transferer):
        life = log.lookup(uid)
        if life is not None:
            life.note(log.at("transfer", f"attended transfer → {target}",
                             f"{life.name}: attended transfer of "
                             f"{log.party(rec.transferee)} to {target} ({rec.result})"))


def _hangup(self: CallCollector, log: LogView, rec: ami.Hangup) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    log.live.discard(rec.uniqueid)
    log.hung_up = rec.uniqueid
    if life is None:
        return
    life.ended = log.seq
    why = rec.cause_txt or (f"cause {rec.cause}" if rec.cause else "")
    life.note(log.at("hangup", f"hangup {life.party}", f"Hangup {rec.channel}: {why}"), "gone")


def _simple(kind: str, text: str) -> Handler:
    def handle(self: CallCollector, log: LogView, rec: Any) -> None:
        life = log.lookup(getattr(rec, "uniqueid", None))
        if life is not None:
            extra = getattr(rec, "queue", "") or getattr(rec, "user_event", "")
            life.note(log.at(kind, f"{text} {extra}".strip(), f"{type(rec).__name__} {life.name}"),
                      _after(life, kind))
        log.union(getattr(rec, "uniqueid", None), getattr(rec, "target_uniqueid", None))
    return handle


def _after(life: ChannelLife, kind: str) -> str | None:
    if kind == "hold":
        return "held"
    if kind == "unhold":
        return "bridged" if life.bridges else "up"
    return None


def _locals(self: CallCollector, log: LogView, rec: Any) -> None:
    log.union(rec.one_uniqueid, rec.two_uniqueid)


def _agent_called(self: CallCollector, log: LogView, rec: ami.AgentCalled) -> None:
    log.union(rec.uniqueid, rec.dest_uniqueid)


_HANDLERS: Mapping[type[ami.AmiEvent], Handler] = {
    ami.Newchannel: _newchannel,
    ami.Newstate: _newstate,
    ami.NewCallerid: _new_callerid,
    ami.Rename: _rename,
    ami.DialBegin: _dialbegin2,
    ami.DialEnd: _dialend2,
    ami.Dial: _dial1,
    ami.BridgeEnter: _enter,
    ami.BridgeLeave: _leave,
    ami.Bridge: _bridge1,
    ami.Link: _bridge1,
    ami.Unlink: _bridge1,
    ami.Masquerade: _masquerade,
    ami.Transfer: _transfer1,
    ami.BlindTransfer: _blind,
    ami.AttendedTransfer: _attended,
    ami.Hangup: _hangup,
    ami.Hold: _simple("hold", "hold"),
    ami.Unhold: _simple("unhold", "unhold"),
    ami.Pickup: _simple("pickup", "pickup"),
    ami.QueueCallerJoin: _simple("queue", "queue"),
    ami.UserEvent: _simple("user_event", "user event"),
    ami.LocalBridge: _locals,
    ami.LocalOptimizationBegin: _locals,
    ami.AgentCalled: _agent_called,
}

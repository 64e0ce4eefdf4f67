"""Channel happenings: what each parsed AMI record means for a call's lanes.

One small handler per record type (``HANDLERS``), for both dialects: it
adds marks to the channels' lives (created, dial, ringing, up, bridge,
transfer, hangup ...), changes their drawn state, and groups channels into
conversations (Linkedid, dial, Local halves, 1.x links and masquerades,
transfer parties). Records come from ``events.parse``, so no AMI header
name appears here.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import events as ami
from .model import ChannelLife, LogView

Handler = Callable[[LogView, Any], None]

#: Asterisk ChannelState numbers -> (mark kind, lane state)
_AST_STATES = {3: ("dialing", "dialing"), 4: ("ring", "dialing"), 5: ("ringing", "ringing"),
               6: ("up", "up"), 7: ("busy", "ringing")}


def _newchannel(log: LogView, rec: ami.Newchannel) -> None:
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


def _newstate(log: LogView, rec: ami.Newstate) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is None or rec.state not in _AST_STATES:
        return
    if rec.caller_id_num and not life.number:
        life.number = rec.caller_id_num
    kind, state = _AST_STATES[rec.state]
    if life.bridges and state == "up":
        state = "bridged"
    life.note(log.at(kind, f"{kind} {life.party}", f"Newstate {rec.channel}: {kind}"), state)


def _new_callerid(log: LogView, rec: ami.NewCallerid) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is not None:
        life.number = rec.caller_id_num or life.number
        life.caller_name = rec.caller_id_name or life.caller_name


def _rename(log: LogView, rec: ami.Rename) -> None:
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
        to = log.party(dest, "") if dest else ""  # 1.x Dial End names no destination
        life.note(log.at("dial_end", f"dial end {status.lower()} {to}".strip(),
                         f"dial from {life.name} to {to or '?'} ended: {status}"))


def _dialbegin2(log: LogView, rec: ami.DialBegin) -> None:
    _dial_begin(log, rec.uniqueid, rec.dest_uniqueid, rec.dest_channel)


def _dialend2(log: LogView, rec: ami.DialEnd) -> None:
    _dial_end(log, rec.uniqueid, rec.dest_uniqueid, rec.dial_status)


def _dial1(log: LogView, rec: ami.Dial) -> None:
    if rec.sub_event.lower() == "begin":
        _dial_begin(log, rec.uniqueid, rec.dest_uniqueid, rec.destination)
    elif rec.sub_event.lower() == "end":
        _dial_end(log, rec.uniqueid, rec.dest_uniqueid, rec.dial_status)


def _enter(log: LogView, rec: ami.BridgeEnter) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is None:
        return
    others = [o.party for o in log.channels.values()
              if rec.bridge_uniqueid in o.bridges and o is not life]
    life.bridges.add(rec.bridge_uniqueid)
    with_ = f" with {', '.join(others)}" if others else ""
    life.note(log.at("bridge", f"bridge{with_}", f"{life.name} enters bridge "
                     f"{rec.bridge_uniqueid}{with_}"), "bridged")


def _leave(log: LogView, rec: ami.BridgeLeave) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    if life is None:
        return
    life.bridges.discard(rec.bridge_uniqueid)
    life.note(log.at("unbridge", "leave bridge", f"{life.name} leaves bridge "
                     f"{rec.bridge_uniqueid}"), "bridged" if life.bridges else "up")


def _bridge1(log: LogView, rec: ami.Bridge) -> None:
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


def _masquerade(log: LogView, rec: ami.Masquerade) -> None:
    original = log.lookup(name=rec.original)
    clone = log.lookup(name=rec.clone)
    if original is None or clone is None:
        return
    log.union(original.uniqueid, clone.uniqueid)
    for life, other in ((original, clone), (clone, original)):
        life.note(log.at("masquerade", f"masquerade {other.party}",
                         f"Masquerade: clone {rec.clone} into original {rec.original}"))


def _transfer1(log: LogView, rec: ami.Transfer) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    target = log.lookup(rec.target_uniqueid, rec.target_channel)
    log.union(life.uniqueid if life else None, target.uniqueid if target else None)
    if life is not None and rec.transfer_type == "Blind":
        log.transferred_away.add(life.uniqueid)
    if life is not None:
        to = rec.transfer_exten or (target.party if target else rec.target_channel)
        life.note(log.at("transfer", f"{rec.transfer_type.lower()} transfer → {to}",
                         f"{life.name}: {rec.transfer_type} transfer of "
                         f"{rec.target_channel} to {to}"))


def _blind(log: LogView, rec: ami.BlindTransfer) -> None:
    log.union(rec.transferer, rec.transferee)
    if rec.result in ("", "Success"):
        log.transferred_away.add(rec.transferer)
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


def _attended(log: LogView, rec: ami.AttendedTransfer) -> None:
    log.transferers = tuple(uid for uid in (rec.orig_transferer, rec.second_transferer) if uid)
    log.union(rec.orig_transferer, rec.second_transferer, rec.transferee, rec.transfer_target)
    target = log.party(rec.transfer_target, rec.transfer_target_num)
    for uid in (rec.orig_transferer, rec.second_transferer):
        life = log.lookup(uid)
        if life is not None:
            life.note(log.at("transfer", f"attended transfer → {target}",
                             f"{life.name}: attended transfer of "
                             f"{log.party(rec.transferee)} to {target} ({rec.result})"))


def _hangup(log: LogView, rec: ami.Hangup) -> None:
    life = log.lookup(rec.uniqueid, rec.channel)
    log.live.discard(rec.uniqueid)
    log.hung_up = rec.uniqueid
    if life is None:
        return
    life.ended = log.seq
    why = rec.cause_txt or (f"cause {rec.cause}" if rec.cause else "")
    life.note(log.at("hangup", f"hangup {life.party}", f"Hangup {rec.channel}: {why}"), "gone")


def _simple(kind: str, text: str) -> Handler:
    def handle(log: LogView, rec: Any) -> None:
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


def _locals(log: LogView, rec: Any) -> None:
    log.union(rec.one_uniqueid, rec.two_uniqueid)


def _agent_called(log: LogView, rec: ami.AgentCalled) -> None:
    log.union(rec.uniqueid, rec.dest_uniqueid)


HANDLERS: Mapping[type[ami.AmiEvent], Handler] = {
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

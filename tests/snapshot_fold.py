"""The fold of reported call events that ``ChannelManager.snapshot()`` must equal.

Written from API.md's hook meanings alone, independently of
``cacofonisk/callview.py``: it reads only the records a reporter receives.
``project()`` puts a snapshot and the fold in one comparable shape.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cacofonisk.calls import CallEvent, hook_of

_TRANSFERS = ("on_warm_transfer", "on_cold_transfer", "on_blind_transfer", "on_blonde_transfer")


def _num(cid: Any) -> Any:
    return None if cid is None else (cid.code, cid.name, cid.number, cid.is_public)


class Folded:
    """One call as the hooks told it so far."""

    def __init__(self) -> None:
        self.state = "new"
        self.caller: Any = None
        self.to_number: Any = None
        self.targets: list[Any] = []
        self.callee: Any = None
        self.hold: Any = None
        self.park: Any = None
        self.queue: Any = None
        self.room: Any = None  # (room, party, order)


def fold(records: Iterable[CallEvent]) -> dict[str, Folded]:
    """Calls in flight after ``records``, keyed by call id, in the order they began."""
    calls: dict[str, Folded] = {}
    joins = 0
    for record in records:
        hook = hook_of(record)
        if hook == "on_user_event":
            continue
        call = calls.setdefault(record.call_id, Folded())
        call.caller = getattr(record, "caller", call.caller)
        call.to_number = getattr(record, "to_number", call.to_number)
        if hook == "on_b_dial":
            call.state = "ringing"
            call.targets += [t for t in record.targets if t not in call.targets]  # type: ignore[attr-defined]
        elif hook == "on_b_dial_end":
            for target in record.targets:  # type: ignore[attr-defined]
                if target in call.targets:
                    call.targets.remove(target)
        elif hook == "on_up":
            call.state, call.callee, call.targets = "up", record.callee, []  # type: ignore[attr-defined]
        elif hook in _TRANSFERS:
            call.state = "transferred"
            if hook == "on_warm_transfer":
                call.callee, call.targets = record.destination, []  # type: ignore[attr-defined]
            else:
                call.callee, call.targets = None, list(record.targets)  # type: ignore[attr-defined]
            for merged in (record.merged_id, *record.also_merged):  # type: ignore[attr-defined]
                if merged != record.call_id:
                    calls.pop(merged, None)
        elif hook == "on_hangup":
            del calls[record.call_id]
        elif hook in ("on_hold", "on_unhold"):
            holder = record.holder  # type: ignore[attr-defined]
            held = call.callee if holder == call.caller else call.caller
            call.hold = (holder, held) if hook == "on_hold" else None
        elif hook == "on_park":
            call.park = (record.lot, record.space, record.parked, record.parker)  # type: ignore[attr-defined]
            call.targets = []
        elif hook == "on_park_end":
            call.park = None
        elif hook == "on_queue_join":
            call.queue = (record.queue, record.position)  # type: ignore[attr-defined]
        elif hook == "on_queue_leave":
            call.queue = None
        elif hook == "on_conference_join":
            joins += 1
            call.room = (record.room, record.party, joins)  # type: ignore[attr-defined]
            call.targets = []
        elif hook == "on_conference_leave":
            call.room = None
    return calls


def project_fold(calls: dict[str, Folded]) -> list[tuple[Any, ...]]:
    """The fold in the shape of ``project_snapshot``."""
    rooms: dict[str, list[tuple[int, Any]]] = {}
    for call in calls.values():
        if call.room is not None:
            rooms.setdefault(call.room[0], []).append((call.room[2], call.room[1]))
    out = []
    for call_id, call in calls.items():
        conference = None
        if call.room is not None:
            members = tuple(_num(p) for _o, p in sorted(rooms[call.room[0]], key=lambda x: x[0]))
            conference = (call.room[0], members)
        out.append((call_id, call.state, _num(call.caller), call.to_number,
                    tuple(_num(t) for t in call.targets), _num(call.callee),
                    None if call.hold is None else (_num(call.hold[0]), _num(call.hold[1])),
                    None if call.park is None else (call.park[0], call.park[1],
                                                    _num(call.park[2]), _num(call.park[3])),
                    call.queue, conference))
    return out


def project_snapshot(snapshot: Iterable[Any]) -> list[tuple[Any, ...]]:
    """A snapshot's calls, states, parties, hold, park, queue and conference."""
    out = []
    for call in snapshot:
        hold = None if call.hold is None else (_num(call.hold.holder), _num(call.hold.held))
        park = None if call.park is None else (call.park.lot, call.park.space,
                                               _num(call.park.parked), _num(call.park.parker))
        queue = None if call.queue is None else (call.queue.queue, call.queue.position)
        conference = None if call.conference is None else (
            call.conference.room, tuple(_num(m) for m in call.conference.members))
        out.append((call.call_id, call.state, _num(call.caller), call.to_number,
                    tuple(_num(t) for t in call.targets), _num(call.callee), hold, park,
                    queue, conference))
    return out

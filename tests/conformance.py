"""Helpers to replay the recordings in ../shared and compare with their expectations.

The recordings are third-party data: they are read in place from the
``shared`` folder beside the checkout (``CACOFONISK_SHARED`` overrides the
path) and never copied into the repository.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cacofonisk import BaseReporter
from cacofonisk.runners.file_runner import FileRunner

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CACOFONISK_SHARED", ROOT.parent / "shared"))
SKIP_REASON = (f"the shared recordings folder {SHARED} is absent (it lies beside the "
               f"checkout in CI; set CACOFONISK_SHARED to point elsewhere)")


def logs(folder: str) -> list[Path]:
    """Event logs (not expectations) of one shared folder, sorted; [] if absent."""
    path = SHARED / folder
    if not path.is_dir():
        return []
    return sorted(p for p in path.glob("*.json") if not p.name.endswith(".expected.json"))


def expected_of(log: Path) -> Any:
    """The .expected.json beside a log."""
    return json.loads(log.with_name(log.name[:-5] + ".expected.json").read_text())


def _cid(cid: Any) -> dict[str, Any]:
    return {"code": cid.code, "name": cid.name, "number": cid.number, "is_public": cid.is_public}


def _sorted_targets(targets: list[Any]) -> list[dict[str, Any]]:
    return [_cid(t) for t in sorted(targets, key=lambda t: f"{t.code}{t.number}")]


class Ami1Recorder(BaseReporter):
    """Records hooks in the exact format of conformance/ami1 expectations."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def on_b_dial(self, call_id, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self.events.append({"event": "on_b_dial", "call_id": call_id, "caller": _cid(caller),
                            "to_number": to_number, "targets": _sorted_targets(targets)})

    def on_up(self, call_id, caller, to_number, callee):  # type: ignore[no-untyped-def]
        self.events.append({"event": "on_up", "call_id": call_id, "caller": _cid(caller),
                            "to_number": to_number, "callee": _cid(callee)})

    def on_warm_transfer(self, call_id, merged_id, redirector, caller, destination):  # type: ignore[no-untyped-def]
        self.events.append({"event": "on_warm_transfer", "call_id": call_id,
                            "merged_id": merged_id, "redirector": _cid(redirector),
                            "caller": _cid(caller), "destination": _cid(destination)})

    def on_cold_transfer(self, call_id, merged_id, redirector, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self.events.append({"event": "on_cold_transfer", "call_id": call_id,
                            "merged_id": merged_id, "redirector": _cid(redirector),
                            "caller": _cid(caller), "to_number": to_number,
                            "targets": _sorted_targets(targets)})

    def on_hangup(self, call_id, caller, to_number, reason):  # type: ignore[no-untyped-def]
        self.events.append({"event": "on_hangup", "call_id": call_id, "caller": _cid(caller),
                            "to_number": to_number, "reason": reason})

    def on_user_event(self, event):  # type: ignore[no-untyped-def]
        self.events.append({"event": "on_user_event", "data": dict(event)})


def _num(cid: Any) -> str:
    return cid.number or ""


class Ami2Projector(BaseReporter):
    """Records hooks as the projection of conformance/ami2 expectations."""

    def __init__(self) -> None:
        self.events: list[list[Any]] = []

    def on_b_dial(self, call_id, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self.events.append(["b_dial", _num(caller), sorted(_num(t) for t in targets)])

    def on_b_dial_end(self, call_id, caller, to_number, targets, reason):  # type: ignore[no-untyped-def]
        self.events.append(["b_dial_end", _num(caller), sorted(_num(t) for t in targets), reason])

    def on_up(self, call_id, caller, to_number, callee):  # type: ignore[no-untyped-def]
        self.events.append(["up", _num(caller), _num(callee)])

    def on_warm_transfer(self, call_id, merged_id, redirector, caller, destination):  # type: ignore[no-untyped-def]
        self.events.append(["transfer", "attended", _num(caller), _num(redirector),
                            [_num(destination)]])

    def _cold(self, kind, redirector, caller, targets):  # type: ignore[no-untyped-def]
        self.events.append(["transfer", kind, _num(caller), _num(redirector),
                            sorted(_num(t) for t in targets)])

    def on_cold_transfer(self, call_id, merged_id, redirector, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self._cold("cold", redirector, caller, targets)

    def on_blind_transfer(self, call_id, merged_id, redirector, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self._cold("blind", redirector, caller, targets)

    def on_blonde_transfer(self, call_id, merged_id, redirector, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self._cold("blonde", redirector, caller, targets)

    def on_hangup(self, call_id, caller, to_number, reason):  # type: ignore[no-untyped-def]
        self.events.append(["hangup", _num(caller), reason])

    def on_queue_caller_abandon(self, call_id, caller, to_number):  # type: ignore[no-untyped-def]
        self.events.append(["queue_caller_abandon", _num(caller)])

    def on_user_event(self, event):  # type: ignore[no-untyped-def]
        self.events.append(["user_event", event["UserEvent"]])


def lab_facts(events: list[list[Any]]) -> list[dict[str, Any]]:
    """Turn an Ami2Projector's list into lab-style facts (b_dial_end dropped)."""
    facts: list[dict[str, Any]] = []
    for item in events:
        kind = item[0]
        if kind == "b_dial":
            facts.append({"kind": "b_dial", "caller": item[1], "targets": item[2]})
        elif kind == "up":
            facts.append({"kind": "up", "caller": item[1], "callee": item[2]})
        elif kind == "transfer":
            facts.append({"kind": "transfer", "type": item[1], "transferred": item[2],
                          "transferer": item[3], "targets": item[4]})
        elif kind == "hangup":
            facts.append({"kind": "hangup", "caller": item[1], "reason": item[2]})
        elif kind == "user_event":
            facts.append({"kind": "user_event", "name": item[1]})
        elif kind == "queue_caller_abandon":
            facts.append({"kind": "queue_caller_abandon", "caller": item[1]})
    return facts


def projection_matches(got: list[list[Any]], expected: list[list[Any]]) -> bool:
    """AMI2 comparison: equal, with a 'cold' transfer matching blind or blonde."""
    if len(got) != len(expected):
        return False
    for mine, theirs in zip(got, expected):
        if mine[:1] == ["transfer"] and mine[1] == "cold" and theirs[:1] == ["transfer"]:
            if mine[2:] != theirs[2:]:
                return False
        elif mine != theirs:
            return False
    return True


def replay(log: Path, reporter: BaseReporter) -> BaseReporter:
    """Replay one log through FileRunner into ``reporter``."""
    FileRunner([str(log)], reporter).run()
    return reporter


def _opt_num(cid: Any) -> str | None:
    return cid.number if cid is not None else None


class StateProjector(Ami2Projector):
    """Ami2Projector that also keeps the state hooks as lab ``state_facts``.

    Each state fact is kept with the number of the AMI event that caused
    it: facts of one AMI event happened at the same moment, so their order
    among themselves is free (``state_facts_match``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.state_facts: list[tuple[int, dict[str, Any]]] = []
        self._seq = 0

    def trace_ami(self, event):  # type: ignore[no-untyped-def]
        self._seq += 1

    def _fact(self, **fact: Any) -> None:
        self.state_facts.append((self._seq, fact))

    def on_hold(self, call_id, caller, to_number, holder):  # type: ignore[no-untyped-def]
        self._fact(kind="hold", by=_num(holder))

    def on_unhold(self, call_id, caller, to_number, holder):  # type: ignore[no-untyped-def]
        self._fact(kind="unhold", by=_num(holder))

    def on_park(self, call_id, caller, to_number, parked, parker, lot, space):  # type: ignore[no-untyped-def]
        self._fact(kind="park", parked=_num(parked), by=_num(parker), space=space)

    def on_park_end(self, call_id, caller, to_number, parked, reason, retriever):  # type: ignore[no-untyped-def]
        self._fact(kind="park_end", parked=_num(parked), reason=reason, by=_opt_num(retriever))

    def on_queue_join(self, call_id, caller, to_number, queue, position):  # type: ignore[no-untyped-def]
        self._fact(kind="queue_join", caller=_num(caller), queue=queue, position=position)

    def on_queue_leave(self, call_id, caller, to_number, queue, reason):  # type: ignore[no-untyped-def]
        self._fact(kind="queue_leave", caller=_num(caller), queue=queue, reason=reason)

    def on_conference_join(self, call_id, caller, to_number, party, room):  # type: ignore[no-untyped-def]
        self._fact(kind="conference_join", party=_num(party), room=room)

    def on_conference_leave(self, call_id, caller, to_number, party, room):  # type: ignore[no-untyped-def]
        self._fact(kind="conference_leave", party=_num(party), room=room)


def state_facts_match(got: list[tuple[int, dict[str, Any]]],
                      expected: list[dict[str, Any]]) -> bool:
    """Reported state facts equal the expected ones, in order.

    Facts reported for the same AMI event happened at the same moment:
    within such a group the expected list may have them in any order.
    """
    if len(got) != len(expected):
        return False
    start = 0
    while start < len(got):
        end = start
        while end < len(got) and got[end][0] == got[start][0]:
            end += 1
        mine = [fact for _seq, fact in got[start:end]]
        theirs = list(expected[start:end])
        for fact in mine:
            if fact not in theirs:
                return False
            theirs.remove(fact)
        start = end
    return True

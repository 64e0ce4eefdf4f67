"""Checks on the call events a stream reported, shared by the property tests.

The rules, per call id (the Uniqueid a call event is reported on; user
events are not calls and are left out):

* order: nothing is reported on a call after its on_hangup; its first
  on_up and every on_b_dial_end come after an on_b_dial or a transfer on
  that call (a transfer starts the call's next leg: a blind transfer's
  transferee is answered without a b_dial of its own); nothing is
  reported on a call after a transfer named it as ``merged_id``;
* hangups: a call that ended merged (named as ``merged_id`` by a transfer,
  or one of the transferer's calls a scenario lists in ``merged``:
  an attended transfer ends both) reports no on_hangup; every other call
  reports exactly one, once all of its channels are gone.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from cacofonisk.testing.sim_base import Expect, Scenario

TRANSFERS = frozenset({"on_warm_transfer", "on_cold_transfer", "on_blind_transfer",
                       "on_blonde_transfer"})


def calls_of(reported: Iterable[Expect]) -> dict[str, list[Expect]]:
    """The reported call events grouped by call id, in order (user events left out)."""
    calls: dict[str, list[Expect]] = {}
    for event in reported:
        if event.hook != "on_user_event":
            calls.setdefault(event.call_id, []).append(event)
    return calls


def order_violations(reported: Sequence[Expect]) -> list[str]:
    """Every breach of the order rules, as text ([] when none)."""
    problems = []
    merged: set[str] = set()
    for event in reported:
        if event.call_id in merged and event.hook != "on_user_event":
            problems.append(f"{event.hook} on {event.call_id} after it was merged")
        if event.merged_id:
            merged.add(event.merged_id)
    for call_id, events in calls_of(reported).items():
        started = False
        for index, event in enumerate(events):
            if event.hook == "on_hangup" and index != len(events) - 1:
                problems.append(f"{events[index + 1].hook} on {call_id} after its hangup")
            if event.hook == "on_b_dial" or event.hook in TRANSFERS:
                started = True
            elif event.hook in ("on_up", "on_b_dial_end") and not started:
                problems.append(f"{event.hook} on {call_id} before any b_dial or transfer")
    return problems


def hangup_violations(reported: Sequence[Expect], scenarios: Sequence[Scenario]) -> list[str]:
    """Every breach of the hangup rules, as text ([] when none)."""
    merged = {e.merged_id for e in reported if e.merged_id}
    declared = set().union(*(s.merged for s in scenarios)) if scenarios else set()
    problems = [f"transfer merged {m}, which no scenario ends by a transfer"
                for m in sorted(merged - declared)]
    merged |= declared
    for call_id, events in calls_of(reported).items():
        hangups = sum(e.hook == "on_hangup" for e in events)
        if call_id in merged and hangups:
            problems.append(f"merged call {call_id} reported {hangups} hangup(s)")
        elif call_id not in merged and hangups != 1:
            problems.append(f"call {call_id} reported {hangups} hangups: "
                            f"{[e.hook for e in events]}")
    return problems

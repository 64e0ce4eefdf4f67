"""The AMI farm's call log (cacofonisk.testing.ami_farm): what the cluster
tests and bench/cluster.py play on every server."""
from __future__ import annotations

import pytest

from cacofonisk.commands.demo import answered_call
from cacofonisk.testing.ami_farm import call_log


@pytest.mark.parametrize("in_flight", [1, 2, 4, 8])
def test_the_log_holds_every_call_whole_in_order_and_never_more_than_in_flight(
        in_flight: int) -> None:
    log = call_log("pbx1", 20, in_flight)
    calls = [[{k: v for k, v in e.items() if k != "SystemName"}
              for e in answered_call(n, caller=(f"2{n % 90 + 10}", f"Caller {n}"),
                                     callee=(f"3{n % 90 + 10}", f"Callee {n}"),
                                     system="pbx1")] for n in range(20)]
    assert sorted(map(repr, log)) == sorted(repr(e) for call in calls for e in call)
    for call in calls:  # each call's own events keep their order
        positions = [log.index(e) for e in call]
        assert positions == sorted(positions)
    up: dict[str, str] = {}  # channel -> its call (Linkedid)
    for event in log:
        if event.get("Event") == "Newchannel":
            up[event["Uniqueid"]] = event["Linkedid"]
        elif event.get("Event") == "Hangup":
            del up[event["Uniqueid"]]
        assert len(set(up.values())) <= in_flight
    assert not up


def test_calls_end_apart_so_a_failover_gap_always_sees_some_end() -> None:
    """Started together, calls of one length would end together, in waves
    with no channel up in between (a gap between two waves sees no end)."""
    log = call_log("pbx1", 48, 8)
    hangups = [i for i, e in enumerate(log) if e.get("Event") == "Hangup"]
    first_end, last_start = hangups[0], max(
        i for i, e in enumerate(log) if e.get("Event") == "Newchannel")
    middle = [i for i in hangups if first_end <= i <= last_start]
    assert max(b - a for a, b in zip(middle, middle[1:])) <= 16
    up: set[str] = set()
    for i, event in enumerate(log):
        if event.get("Event") == "Newchannel":
            up.add(event["Uniqueid"])
        elif event.get("Event") == "Hangup":
            up.discard(event["Uniqueid"])
        if first_end <= i <= last_start:
            assert up, f"no channel up after event {i}: the calls end in waves"

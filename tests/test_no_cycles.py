"""Replaying calls leaves no garbage that only the cyclic collector can free.

A long-running listener handles millions of calls. If each call leaves a
reference cycle behind (a recursive nested function that refers to itself,
a channel that points at its bridge while the bridge points back ...),
every hung-up channel, its marks, caller IDs and lists wait for the cyclic
garbage collector, which then costs a tenth of the CPU and lets memory
swell between passes. Reference counting alone must free what a call used.

The check: with the collector disabled and ``gc.DEBUG_SAVEALL`` on, replay
a stream into a manager whose dialect is already decided, then
collect: it must find nothing (it returns the number of
unreachable objects it found). Streams: every checked-in ``scenarios/``
file, every simulated flow in every option variant, all variants of a
dialect interleaved on one manager, and, when present, the third-party
recordings.
"""
from __future__ import annotations

import collections
import gc
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cacofonisk.manager import ChannelManager
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.variants import variants

from conformance import SHARED, SKIP_REASON

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted(p for p in (ROOT / "scenarios").glob("*/*.json")
                        if not p.name.endswith(".expected.json"))


def cyclic_garbage(events: Iterable[Mapping[str, Any]], dialect: str | None, *,
                   whole: bool = True) -> collections.Counter[str]:
    """Replay ``events``; return, by type name, what only the cyclic collector frees.

    The manager is built after the collector is switched off, so that what
    it drops while replaying (rules replaced when it detects the dialect)
    is counted too. The reporter records every call event, as a real one
    keeps them.

    Args:
        whole: the stream holds whole calls: check that it reported
            something and left nothing in flight (a recording may not).
    """
    recorder = RecordingReporter()
    gc.collect(0)  # the youngest generation now holds nothing from before
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        # With the collector off, every object made from here on (the
        # manager too) stays in the youngest generation, so collecting that
        # one alone finds all the garbage of the replay, quickly.
        manager = ChannelManager(reporter=recorder, dialect=dialect, strict=whole)
        for event in events:
            manager.on_event(event)
        manager.flush()
        found = gc.collect(0)
        kinds = collections.Counter(type(obj).__name__ for obj in gc.garbage)
        assert found == sum(kinds.values())
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    if whole:
        assert recorder.records, "the replay reported nothing: the check would prove nothing"
        assert manager.is_idle(), "calls left in flight: not a whole replay"
    return kinds


@pytest.mark.parametrize("path", SCENARIO_FILES,
                         ids=[f"{p.parent.name}/{p.stem}" for p in SCENARIO_FILES])
def test_replaying_a_scenario_file_leaves_no_cyclic_garbage(path: Path) -> None:
    events = json.loads(path.read_text(encoding="utf-8"))
    assert cyclic_garbage(events, path.parent.name) == collections.Counter()


@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
def test_every_simulated_flow_variant_leaves_no_cyclic_garbage(dialect: str) -> None:
    for name, scenario in variants(dialect):
        assert cyclic_garbage(scenario.events, dialect) == collections.Counter(), name


def _round_robin(streams: list[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    iterators = [iter(stream) for stream in streams]
    while iterators:
        alive = []
        for iterator in iterators:
            event = next(iterator, None)
            if event is not None:
                yield event
                alive.append(iterator)
        iterators = alive


@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
def test_many_calls_in_flight_on_one_manager_leave_no_cyclic_garbage(dialect: str) -> None:
    # Dial bursts must not be split by other calls (a documented tracker
    # limit), so whole calls alternate in small groups: several in flight.
    streams = [list(scenario.events) for _name, scenario in variants(dialect)]
    groups = [streams[n:n + 4] for n in range(0, len(streams), 4)]
    events = [event for group in groups for event in _round_robin(group)]
    assert cyclic_garbage(events, dialect) == collections.Counter()


@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
def test_a_manager_that_detects_its_dialect_leaves_no_cyclic_garbage(dialect: str) -> None:
    # Detection replaces the default rules; the replaced ones must not linger
    # in a cycle of their own handler table.
    events = [event for _name, scenario in variants(dialect) for event in scenario.events]
    assert cyclic_garbage(events, None) == collections.Counter()


def _shared_logs() -> list[Path]:
    return sorted(p for folder in ("conformance/ami1", "conformance/ami2", "lab")
                  for p in (SHARED / folder).glob("*.json")
                  if not p.name.endswith(".expected.json"))


@pytest.mark.skipif(not SHARED.is_dir(), reason=SKIP_REASON)
def test_replaying_the_shared_recordings_leaves_no_cyclic_garbage() -> None:
    logs = _shared_logs()
    assert logs, f"no recording found under {SHARED}"
    for path in logs:
        events = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(events, list) or not events:
            continue
        dialect = "ami1" if "ami1" in path.parent.name else "ami2"
        kinds = cyclic_garbage(events, dialect, whole=False)
        assert kinds == collections.Counter(), path.name

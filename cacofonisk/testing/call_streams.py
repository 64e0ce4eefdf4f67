"""Live-like AMI streams of many calls, built by the scenario simulator.

Why: the delivery tests and bench/nats.py need a recording with many
independent calls that runs from a bare clone (no ../shared), with
timestamps as a live Asterisk with ``timestampevents=yes`` sends them (event
ids are then made from them, see event_ids.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import cycle, islice
from typing import Any

from . import scenarios
from .sim_base import Ids


def _atoms(scenario: Any) -> list[list[dict[str, Any]]]:
    """The scenario's events in groups another call's events may not split (dial bursts)."""
    events = list(scenario.events)
    atoms: list[list[dict[str, Any]]] = []
    bursts = {first: last for first, last in scenario.bursts}
    i = 0
    while i < len(events):
        last = bursts.get(i, i)
        atoms.append(events[i:last + 1])
        i = last + 1
    return atoms


def many_calls(calls: int, *, window: int = 8, start: float = 1_700_000_000.0,
               step: float = 0.001, flows: Sequence[str] | None = None,
               system: str = "sim") -> list[dict[str, Any]]:
    """An AMI 2 stream of ``calls`` simulated calls, ``window`` at a time, interleaved.

    Calls cycle through every simulated flow (``flows`` to choose); each
    keeps its own order, dial bursts stay whole, and every event gets a
    Timestamp ``step`` seconds after the previous one.
    """
    ids = Ids(system=system)
    names = list(islice(cycle(flows or scenarios.flow_names("ami2")), calls))
    pending = [_atoms(scenarios.build(name, "ami2", ids=ids)) for name in names]
    stream: list[dict[str, Any]] = [{"Event": "FullyBooted", "Privilege": "system,all",
                                     "Status": "Fully Booted"}]
    active: list[list[list[dict[str, Any]]]] = []
    while pending or active:
        while pending and len(active) < window:
            active.append(pending.pop(0))
        for atoms in list(active):
            stream.extend(atoms.pop(0))
            if not atoms:
                active.remove(atoms)
    return [{**event, "Timestamp": f"{start + n * step:.6f}"} for n, event in enumerate(stream)]

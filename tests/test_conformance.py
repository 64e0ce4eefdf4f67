"""Replays every real recording in ../shared and compares with its expectation.

* conformance/ami1 (Asterisk 11): the hooks of cacofonisk 0.4.0, exactly.
* conformance/ami2 (Asterisk 13): the projection of cacofonisk 0.7.10's hooks.
* lab (Asterisk 22, PJSIP phones): the facts of what really happened.

Each suite also runs with the state machines driven by ``transitions``
itself instead of the compiled table, which must change nothing.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cacofonisk.fsm import engine

from conformance import (SKIP_REASON, Ami1Recorder, Ami2Projector, StateProjector, expected_of,
                         lab_facts, logs, projection_matches, replay, state_facts_match)

AMI1 = logs("conformance/ami1")
AMI2 = logs("conformance/ami2")
LAB = logs("lab")


def _ids(paths: list[Path]) -> list[str]:
    return [p.name[:-5] for p in paths]


@pytest.fixture(params=["compiled", "transitions"])
def machine_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test once with each way of firing the machines."""
    engine.use_transitions_engine(request.param == "transitions")
    try:
        yield request.param
    finally:
        engine.use_transitions_engine(False)


def test_shared_recordings_are_present_or_skipped_with_a_reason() -> None:
    if not AMI1:
        pytest.skip(SKIP_REASON)
    assert len(AMI1) >= 20 and len(AMI2) >= 20 and len(LAB) >= 10


@pytest.mark.skipif(not AMI1, reason=SKIP_REASON)
@pytest.mark.parametrize("log", AMI1, ids=_ids(AMI1))
def test_ami1_recording_reports_exactly_what_cacofonisk_0_4_reported(
        log: Path, machine_engine: str) -> None:
    got = replay(log, Ami1Recorder()).events  # type: ignore[attr-defined]
    assert got == expected_of(log)


@pytest.mark.skipif(not AMI2, reason=SKIP_REASON)
@pytest.mark.parametrize("log", AMI2, ids=_ids(AMI2))
def test_ami2_recording_reports_the_expected_projection(log: Path, machine_engine: str) -> None:
    got = replay(log, Ami2Projector()).events  # type: ignore[attr-defined]
    expected = expected_of(log)
    assert projection_matches(got, expected), f"got {got}\nexpected {expected}"


@pytest.mark.skipif(not LAB, reason=SKIP_REASON)
@pytest.mark.parametrize("log", LAB, ids=_ids(LAB))
def test_lab_recording_reports_what_really_happened(log: Path, machine_engine: str) -> None:
    got = lab_facts(replay(log, Ami2Projector()).events)  # type: ignore[attr-defined]
    assert got == expected_of(log)["facts"]


@pytest.mark.skipif(not LAB, reason=SKIP_REASON)
@pytest.mark.parametrize("log", LAB, ids=_ids(LAB))
def test_lab_recording_reports_the_state_facts_that_really_happened(
        log: Path, machine_engine: str) -> None:
    projector = replay(log, StateProjector())
    got = projector.state_facts  # type: ignore[attr-defined]
    expected = expected_of(log).get("state_facts", [])
    assert state_facts_match(got, expected), f"got {got}\nexpected {expected}"

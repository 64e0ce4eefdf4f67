"""The checked-in scenarios/ files: generated, never edited, and right.

* Each ``scenarios/<dialect>/<flow>.json`` and its ``.expected.json`` are
  byte for byte what ``cacofonisk scenario --all`` writes now, so they
  cannot drift from the simulator (regenerate with
  scripts/regenerate-scenarios.sh and review the diff).
* Replaying each file with FileRunner reports exactly its ``.expected.json``.
* The ``cacofonisk scenario`` command lists, writes and refuses as documented.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cacofonisk.cli import main
from cacofonisk.commands import scenario as command
from cacofonisk.runners.file_runner import FileRunner
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.scenarios import expected_from_json, flow_names

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
FILES = sorted(p for p in SCENARIOS.glob("*/*.json") if not p.name.endswith(".expected.json"))
IDS = [f"{p.parent.name}/{p.stem}" for p in FILES]

#: scenario file -> the tracker bug it shows (see tests/test_simulator.py).
KNOWN_TRACKER_BUGS: dict[str, str] = {}


def test_every_flow_of_every_dialect_has_a_checked_in_scenario() -> None:
    present = {f"{p.parent.name}/{p.stem}" for p in FILES}
    wanted = {f"{d}/{f}" for d in command.DIALECTS for f in flow_names(d)}
    assert present == wanted
    assert (SCENARIOS / "ami2" / "blind_transfer.json").is_file()  # the README's demo


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_checked_in_scenario_equals_what_the_generator_writes_now(path: Path) -> None:
    scenario = command.default_scenario(path.stem, path.parent.name)
    assert path.read_text(encoding="utf-8") == command.dumps_events(
        command.log_events(scenario)), "regenerate: scripts/regenerate-scenarios.sh"
    assert command.expected_path(path).read_text(encoding="utf-8") == \
        command.dumps_expected(scenario), "regenerate: scripts/regenerate-scenarios.sh"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_replaying_a_scenario_file_reports_its_expected_json(
        path: Path, request: pytest.FixtureRequest) -> None:
    bug = KNOWN_TRACKER_BUGS.get(f"{path.parent.name}/{path.stem}")
    if bug:
        request.applymarker(pytest.mark.xfail(reason=bug, strict=True))
    recorder = RecordingReporter()
    FileRunner([str(path)], recorder).run()
    expected = json.loads(command.expected_path(path).read_text(encoding="utf-8"))
    assert recorder.expects() == expected_from_json(expected)


def test_scenario_list_names_every_flow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "--list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == set(flow_names())


def test_scenario_writes_a_replayable_log_and_its_expectations(tmp_path: Path) -> None:
    out = tmp_path / "group.json"
    assert main(["scenario", "ring_group", "-o", str(out), "--numbers", "301,302,303,304",
                 "--tech", "SIP", "--private", "301", "--option", "answered_by=\"302\""]) == 0
    expected = json.loads((tmp_path / "group.expected.json").read_text())
    assert expected["facts"][0] == {"kind": "b_dial", "caller": "301",
                                    "targets": ["302", "303", "304"]}
    assert expected["events"][0]["caller_public"] is False
    recorder = RecordingReporter()
    FileRunner([str(out)], recorder).run()
    assert recorder.expects() == expected_from_json(expected)
    assert all(e["Channel"].startswith("SIP/") for e in json.loads(out.read_text())
               if e["Event"] == "Newchannel")


def test_scenario_all_writes_the_checked_in_tree(tmp_path: Path) -> None:
    assert main(["scenario", "--all", str(tmp_path)]) == 0
    for path in FILES:
        copy = tmp_path / path.parent.name / path.name
        assert copy.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("argv", [["scenario"], ["scenario", "nope"],
                                  ["scenario", "queue", "--dialect", "ami1"],
                                  ["scenario", "answered", "--option", "nokey"],
                                  ["scenario", "answered", "--option", "colour=1"]])
def test_scenario_refuses_bad_input_with_one_line(argv: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cacofonisk scenario:") and err.count("\n") == 1

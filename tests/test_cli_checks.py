"""The command line checks what it is given and says what it does (issue 11).

Items 13 (``--version``, ``-v`` after the sub-command, malformed events not
silent), 15 (option values checked), 16 (``replay scenarios/ami2/*.json``,
which file a line comes from, distinct call ids per scenario), 17 (help
text, messages) and 2 (``regenerate-scenarios.sh`` never leaves nothing).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cacofonisk import __version__
from cacofonisk.cli import build_parser, main
from cacofonisk.testing.scenarios import build, flow_names

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"cacofonisk {command}: ") and "Traceback" not in err
    return err


# -- 13: --version, -v anywhere, malformed events -------------------------------------

def test_version_option_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cacofonisk {__version__}"


@pytest.mark.parametrize("argv", [["-vv", "replay", "x.json"], ["replay", "-vv", "x.json"],
                                  ["replay", "x.json", "--verbose", "-v"]])
def test_verbose_is_accepted_before_or_after_the_sub_command(argv):
    assert build_parser().parse_args(argv).verbose == 2


def test_verbose_before_the_sub_command_is_kept_when_none_follows():
    args = build_parser().parse_args(["-v", "replay", "x.json"])
    assert args.verbose == 1


def test_replay_of_malformed_events_warns_on_stderr_and_exits_1(tmp_path, capsys):
    events = json.loads((SCENARIOS / "ami2" / "answered.json").read_text())
    events.insert(3, {"Event": "Newstate", "Uniqueid": "x.1", "Channel": "PJSIP/9-1",
                      "ChannelState": "not a number"})
    events.insert(5, {"Uniqueid": "no event name"})
    log = tmp_path / "damaged.json"
    log.write_text(json.dumps(events))
    assert main(["replay", str(log)]) == 1
    out, err = capsys.readouterr()
    assert "hangup" in out  # the good events are still reported
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert "ChannelState" in lines[1] and "damaged.json" in lines[1]
    assert "event #6 has no 'Event' name" in lines[0]
    assert lines[-1] == "cacofonisk replay: 2 malformed event(s) ignored; exit status 1"


def test_demo_of_a_log_with_a_malformed_event_warns_and_exits_1(tmp_path, capsys):
    """Live (the AMI test server and an AmiRunner), as with replay."""
    events = json.loads((SCENARIOS / "ami2" / "answered.json").read_text())
    events.insert(3, {"Event": "Newstate", "Uniqueid": "x.1", "Channel": "PJSIP/9-1",
                      "ChannelState": "not a number"})
    log = tmp_path / "damaged.json"
    log.write_text(json.dumps(events))
    assert main(["demo", "--scenario", str(log), "--rate", "0"]) == 1
    out, err = capsys.readouterr()
    assert "hangup" in out
    assert "cacofonisk demo: warning: Newstate event: field 'ChannelState'" in err
    assert err.splitlines()[-1] == "cacofonisk demo: 1 malformed event(s) ignored; exit status 1"


def test_replay_of_a_clean_log_prints_nothing_on_stderr(capsys):
    assert main(["replay", str(SCENARIOS / "ami2" / "answered.json")]) == 0
    assert capsys.readouterr().err == ""


def test_replay_debug_does_not_claim_a_connection(capsys):
    assert main(["replay", "--debug", str(SCENARIOS / "ami2" / "answered.json")]) == 0
    out = capsys.readouterr().out
    assert "Connected" not in out and "FullyBooted" in out


# -- 16: several files -----------------------------------------------------------------

def test_replay_of_a_scenario_folder_skips_the_expectation_files(capsys):
    files = sorted(str(p) for p in (SCENARIOS / "ami2").glob("*.json"))
    assert any(f.endswith(".expected.json") for f in files)
    assert main(["replay", *files]) == 0
    out = capsys.readouterr().out
    replayed = {line.split(": ", 1)[0] for line in out.splitlines()}
    assert replayed == {f for f in files if not f.endswith(".expected.json")}


def test_replay_of_expectation_files_only_says_what_they_are(capsys):
    assert main(["replay", str(SCENARIOS / "ami2" / "busy.expected.json")]) == 2
    assert "expectations" in one_line_error(capsys, "replay")


def test_replay_of_several_files_says_which_file_each_call_event_comes_from(capsys):
    first, second = (str(SCENARIOS / "ami2" / f"{n}.json") for n in ("busy", "answered"))
    assert main(["replay", "--format", "jsonl", first, second]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["file"] for o in objects] == [first] * 3 + [second] * 4
    assert main(["replay", first]) == 0
    assert not capsys.readouterr().out.startswith(first)  # one file: lines as before


@pytest.mark.parametrize("dialect", ["ami2", "ami1"])
def test_every_generated_scenario_has_call_ids_of_its_own(dialect):
    ids = {}
    for flow in flow_names(dialect):
        ids[flow] = set(build(flow, dialect).uniqueids)
    flows = list(ids)
    for index, flow in enumerate(flows):
        for other in flows[index + 1:]:
            assert not ids[flow] & ids[other], (flow, other)


# -- 15: option values -----------------------------------------------------------------

@pytest.mark.parametrize("option, words", [
    ("hangup_by=nobody", ["hangup_by", "'caller', 'callee'"]),
    ("colour=1", ["no option 'colour'", "hangup_by", "teardown_variant"]),
    ("teardown_variant=9", ["teardown_variant", "0, 1, 2, 3, 4, 5"]),
    ("hold=yes", ["hold", "true or false"]),
])
def test_scenario_option_values_are_checked_with_one_clear_line(capsys, option, words):
    assert main(["scenario", "answered", "--option", option]) == 2
    err = one_line_error(capsys, "scenario")
    for word in words:
        assert word in err
    assert "keyword argument" not in err


def test_scenario_ring_group_answered_by_must_be_a_member(capsys):
    assert main(["scenario", "ring_group", "--option", 'answered_by="999"']) == 2
    assert "202, 203" in one_line_error(capsys, "scenario")


@pytest.mark.parametrize("argv", [["--rate", "-5"], ["--rate", "nan"], ["--seconds", "0"]])
def test_demo_refuses_a_negative_rate_or_no_time(capsys, argv):
    assert main(["demo", *argv]) == 2
    one_line_error(capsys, "demo")


# -- 17: help text ------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["replay", "scenario", "diagram", "listen", "demo"])
def test_help_shows_no_restructured_text_markup(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "::\n" not in text


# -- 2: regenerating the scenario files ------------------------------------------------

def _copy_for_script(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "regenerate-scenarios.sh", copy / "scripts")
    shutil.copytree(SCENARIOS, copy / "scenarios")
    return copy


def test_regenerate_scenarios_leaves_the_files_alone_when_it_cannot_run(tmp_path):
    copy = _copy_for_script(tmp_path)
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("python", "python3"):  # a python without cacofonisk
        (fake / name).write_text("#!/bin/sh\necho 'No module named cacofonisk' >&2\nexit 1\n")
        (fake / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    env.pop("PYTHON", None)
    done = subprocess.run(["sh", "scripts/regenerate-scenarios.sh"], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "unchanged" in done.stderr
    before = {p.relative_to(SCENARIOS): p.read_bytes() for p in SCENARIOS.rglob("*.json")}
    after = {p.relative_to(copy / "scenarios"): p.read_bytes()
             for p in (copy / "scenarios").rglob("*.json")}
    assert after == before
    assert not list(copy.glob("scenarios.new*"))


def test_regenerate_scenarios_rewrites_the_same_files(tmp_path):
    copy = _copy_for_script(tmp_path)
    done = subprocess.run(["sh", "scripts/regenerate-scenarios.sh"], cwd=copy,
                          env={**os.environ, "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for path in SCENARIOS.rglob("*.json"):
        assert (copy / "scenarios" / path.relative_to(SCENARIOS)).read_bytes() == \
            path.read_bytes()
    assert not list(copy.glob("scenarios.new*"))


# -- 12: --diagram checks its tools before any output ----------------------------------

def test_replay_diagram_without_the_diagrams_extra_fails_before_printing(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if the extra were not installed
    log = str(SCENARIOS / "ami2" / "answered.json")
    assert main(["replay", log, "--diagram", str(tmp_path / "out")]) == 2
    err = one_line_error(capsys, "replay")
    assert "pip install 'cacofonisk[diagrams]'" in err
    assert not (tmp_path / "out").exists()

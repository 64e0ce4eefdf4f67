"""``python -m cacofonisk replay``, run as a user would (subprocess)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cacofonisk.reporters.base import BaseReporter
from cacofonisk.runners.file_runner import FileRunner

ROOT = Path(__file__).resolve().parent.parent

A, B = "pbx-1.1", "pbx-1.2"


def chan(name: str, uid: str, **headers: str) -> dict[str, Any]:
    return {"Event": name, "Channel": f"PJSIP/{uid}", "Uniqueid": uid, "Linkedid": A,
            **headers}


CALL = [
    chan("Newchannel", A, ChannelState="0", CallerIDNum="201", CallerIDName="Alice",
         Exten="202"),
    chan("Newstate", A, ChannelState="4"),
    chan("VarSet", A, Variable="X", Value="1"),
    chan("Newchannel", B, ChannelState="0", CallerIDNum="202", CallerIDName="Bob", Exten="s"),
    chan("DialBegin", A, DestUniqueid=B),
    chan("Newstate", B, ChannelState="5"),
    chan("DialState", A, DestUniqueid=B, DialStatus="RINGING"),
    chan("DialEnd", A, DestUniqueid=B, DialStatus="ANSWER"),
    chan("Newstate", B, ChannelState="6"),
    chan("Newstate", A, ChannelState="6"),
    {"Event": "BridgeCreate", "BridgeUniqueid": "br-1"},
    chan("BridgeEnter", B, BridgeUniqueid="br-1"),
    chan("BridgeEnter", A, BridgeUniqueid="br-1"),
    chan("Hangup", B, Cause="16"),
    chan("Hangup", A, Cause="16"),
    {"Event": "Hangup", "Uniqueid": "never-seen", "Channel": "SIP/ghost"},  # a trace
]
HOOKS = ["on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]


BAD_CONTENTS = {"broken": "{not json", "object": '{"Event": "Newchannel"}'}


class Runs:
    """Every ``replay`` invocation the tests need, started at once (CLI start-up is slow)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.call_log = folder / "call.json"
        self.call_log.write_text(json.dumps(CALL))
        self.recorded = folder / "out.json"
        for name, content in BAD_CONTENTS.items():
            (folder / f"bad-{name}.json").write_text(content)
        commands = {
            "plain": [str(self.call_log)],
            "jsonl": [str(self.call_log), "--format", "jsonl"],
            "missing": [str(folder / "nope.json")],
            "good-then-missing": [str(self.call_log), str(folder / "missing.json")],
            "debug-record": [str(self.call_log), "--debug", "--record", str(self.recorded)],
            **{f"bad-{name}": [str(folder / f"bad-{name}.json")] for name in BAD_CONTENTS},
        }
        procs = {key: subprocess.Popen(
            [sys.executable, "-m", "cacofonisk", "replay", *args], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for key, args in commands.items()}
        self.done: dict[str, subprocess.CompletedProcess[str]] = {}
        for key, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            self.done[key] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def __getitem__(self, key: str) -> subprocess.CompletedProcess[str]:
        return self.done[key]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("cli"))


class Whole(BaseReporter):
    def __init__(self) -> None:
        self.records: list[Any] = []

    def on_call_event(self, record: Any) -> None:
        self.records.append(record)


def records_of(path: Path) -> list[Any]:
    whole = Whole()
    FileRunner(str(path), whole).run()
    return whole.records


def assert_one_line_error(done: subprocess.CompletedProcess[str], name: str) -> None:
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert name in done.stderr
    assert "Traceback" not in done.stderr


def test_replay_prints_one_line_per_call_event(runs):
    done = runs["plain"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(HOOKS)
    for line, hook in zip(lines, HOOKS):
        assert line.split()[0] == hook.removeprefix("on_")
        assert A in line
    assert "Traceback" not in done.stderr


def test_replay_jsonl_lines_parse_as_json(runs):
    done = runs["jsonl"]
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["event"] for o in objects] == HOOKS
    assert [o["event_id"] for o in objects] == [f"{A}:{hook}:#0" for hook in HOOKS]
    assert objects[-1]["reason"] == "completed"
    assert objects == [r.as_dict() for r in records_of(runs.call_log)]


def test_replay_of_a_missing_file_exits_2_with_one_line(runs):
    assert_one_line_error(runs["missing"], "nope.json")


@pytest.mark.parametrize("name", list(BAD_CONTENTS))
def test_replay_of_an_invalid_file_exits_2_with_one_line(runs, name):
    assert_one_line_error(runs[f"bad-{name}"], f"bad-{name}.json")


def test_replay_checks_every_file_before_printing_anything(runs):
    assert_one_line_error(runs["good-then-missing"], "missing.json")


def test_replay_record_writes_a_log_that_replays_to_the_same_events(runs):
    done = runs["debug-record"]
    assert done.returncode == 0, done.stderr
    recorded = json.loads(runs.recorded.read_text())
    assert isinstance(recorded, list) and all(isinstance(e, dict) for e in recorded)
    assert recorded, "nothing was recorded"
    assert records_of(runs.recorded) == records_of(runs.call_log)


def test_replay_debug_adds_trace_lines(runs):
    plain, debug = runs["plain"].stdout.splitlines(), runs["debug-record"]
    assert debug.returncode == 0, debug.stderr
    extra = [line for line in debug.stdout.splitlines() if line not in plain]
    assert extra, "--debug printed no trace lines"
    assert any("never-seen" in line for line in extra)
    assert [line for line in debug.stdout.splitlines() if line not in extra] == plain

"""A recording never destroys a log and always holds every event of the stream.

Issue 11, items 1, 3 and 4: ``replay LOG --record LOG`` used to truncate
LOG before reading it; ``--record`` to an unwritable path ended in a
traceback; and FileRunner skipped the events no rule consumes before the
recording reporter saw them, so a re-recorded log lacked NewConnectedLine,
BridgeCreate, VarSet ...
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cacofonisk import ChannelManager, FileRunner, JsonReporter
from cacofonisk.cli import main
from cacofonisk.errors import ConfigurationError
from cacofonisk.reporters import MultiReporter
from cacofonisk.reporters.base import BaseReporter

ROOT = Path(__file__).resolve().parent.parent
BLIND = ROOT / "scenarios" / "ami2" / "blind_transfer.json"


def noisy_log(path: Path) -> Path:
    """The bundled blind transfer with events no rule consumes spread through it."""
    events: list[dict[str, Any]] = json.loads(BLIND.read_text())
    out: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        out.append(event)
        if index % 4 == 1 and "Uniqueid" in event:
            out.append({"Event": "NewConnectedLine", "Channel": event.get("Channel", ""),
                        "Uniqueid": event["Uniqueid"], "ConnectedLineNum": "999"})
            out.append({"Event": "VarSet", "Uniqueid": event["Uniqueid"],
                        "Variable": "DIALSTATUS", "Value": ""})
    assert any(e["Event"] not in ChannelManager.INTERESTING_EVENTS for e in out)
    path.write_text(json.dumps(out))
    return path


def test_replay_record_holds_every_event_of_the_stream_even_those_no_rule_consumes(tmp_path):
    log = noisy_log(tmp_path / "noisy.json")
    copy = tmp_path / "copy.json"
    assert main(["replay", str(log), "--record", str(copy)]) == 0
    assert json.loads(copy.read_text()) == json.loads(log.read_text())


def test_file_runner_hands_skipped_events_to_a_reporter_that_records_raw_events(tmp_path):
    log = noisy_log(tmp_path / "noisy.json")
    copy = tmp_path / "copy.json"
    FileRunner(str(log), MultiReporter([JsonReporter(str(copy)), BaseReporter()])).run()
    assert json.loads(copy.read_text()) == json.loads(log.read_text())


@pytest.mark.parametrize("how", ["same path", "relative path", "symbolic link", "hard link"])
def test_replay_refuses_to_record_over_its_own_input(tmp_path, monkeypatch, capsys, how):
    log = tmp_path / "calls.json"
    log.write_bytes(BLIND.read_bytes())
    record = {"same path": str(log), "relative path": "./calls.json"}.get(how)
    if how == "symbolic link":
        (tmp_path / "link.json").symlink_to(log)
        record = str(tmp_path / "link.json")
    elif how == "hard link":
        os.link(log, tmp_path / "hard.json")
        record = str(tmp_path / "hard.json")
    monkeypatch.chdir(tmp_path)
    assert main(["replay", str(log), "--record", str(record)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the input file" in err and "Traceback" not in err
    assert log.read_bytes() == BLIND.read_bytes()


def test_json_reporter_leaves_an_existing_file_whole_until_it_closes(tmp_path):
    target = tmp_path / "rec.json"
    target.write_text('["the good recording"]')
    reporter = JsonReporter(str(target))
    reporter.trace_ami({"Event": "FullyBooted"})
    assert target.read_text() == '["the good recording"]'  # an interrupted run keeps it
    assert reporter.partial_path.parent == tmp_path
    assert reporter.partial_path.name.startswith(".rec.json.")
    reporter.close()
    assert json.loads(target.read_text()) == [{"Event": "FullyBooted"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.json"]


def test_file_runner_recording_into_its_own_input_file_keeps_every_event(tmp_path):
    """In Python nothing stops a user from doing it; the log must survive."""
    log = tmp_path / "calls.json"
    log.write_bytes(BLIND.read_bytes())
    FileRunner(str(log), JsonReporter(str(log))).run()
    assert json.loads(log.read_text()) == json.loads(BLIND.read_text())


def test_json_reporter_recording_gets_the_permissions_of_a_plain_new_file(tmp_path):
    target = tmp_path / "rec.json"
    JsonReporter(str(target)).close()
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_json_reporter_in_a_missing_folder_raises_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot write .*nowhere"):
        JsonReporter(str(tmp_path / "nowhere" / "rec.json"))


UNWRITABLE = {"missing folder": "nowhere/rec.json", "a folder": "."}


def _command(name: str, record: str) -> list[str]:
    if name == "replay":
        return ["replay", str(BLIND), "--record", record]
    if name == "demo":
        return ["demo", "--scenario", str(BLIND), "--record", record]
    return ["listen", "--host", "tcp://ami@127.0.0.1:9", "--record", record]


@pytest.mark.parametrize("where", list(UNWRITABLE))
@pytest.mark.parametrize("command", ["replay", "listen", "demo"])
def test_record_to_an_unwritable_path_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys,
                                                             command, where):
    monkeypatch.setenv("CACOFONISK_AMI_PASSWORD", "not-used")
    record = str(tmp_path / UNWRITABLE[where])
    assert main(_command(command, record)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"cacofonisk {command}: ") and record.rstrip("/.") in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
@pytest.mark.parametrize("command", ["replay", "listen", "demo"])
def test_record_into_a_folder_without_write_permission_is_one_line_and_exit_2(
        tmp_path, monkeypatch, capsys, command):
    monkeypatch.setenv("CACOFONISK_AMI_PASSWORD", "not-used")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(_command(command, str(locked / "rec.json"))) == 2
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err


def test_replay_refuses_to_record_over_a_skipped_expectation_file(tmp_path, capsys):
    log = tmp_path / "busy.json"
    log.write_bytes((ROOT / "scenarios" / "ami2" / "busy.json").read_bytes())
    expected = tmp_path / "busy.expected.json"
    expected.write_text("[]")
    assert main(["replay", str(log), str(expected), "--record", str(expected)]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert expected.read_text() == "[]"


def test_a_fan_out_sees_raw_events_only_when_one_of_its_reporters_does(tmp_path):
    """Runners keep skipping events by name (and ask Asterisk for a filter)
    unless some reporter really wants every raw event, as a recording does."""
    from cacofonisk import BaseReporter, JsonReporter
    from cacofonisk.reporters import MultiReporter
    from cacofonisk.reporters.base import sees_raw_events
    from cacofonisk.testing.recorder import RecordingReporter

    class Counting(BaseReporter):
        wants_every_event = False  # counts applied events: the skip may stay

        def on_event(self, event: object) -> None:
            pass

    recording = JsonReporter(str(tmp_path / "rec.json"))
    assert sees_raw_events(recording)
    assert not sees_raw_events(Counting())
    assert not sees_raw_events(MultiReporter([RecordingReporter(), Counting()]))
    assert sees_raw_events(MultiReporter([RecordingReporter(), MultiReporter([recording])]))
    recording.close()

"""API.md, checked the way code outside the project uses it."""
from __future__ import annotations

import inspect
import json
import unittest
from pathlib import Path
from typing import Any

import pytest

# -- import paths ----------------------------------------------------------------------


def test_top_level_names_import():
    from cacofonisk import (BaseReporter, CallerId, ChannelManager,  # noqa: F401
                            DebugReporter, FileRunner, JsonFileReporter, JsonFileRunner,
                            JsonReporter)
    assert all(inspect.isclass(c) for c in (BaseReporter, CallerId, ChannelManager,
                                            DebugReporter, FileRunner, JsonReporter))


def test_top_level_amirunner_imports():
    from cacofonisk import AmiRunner
    from cacofonisk.runners.ami_runner import AmiRunner as Direct
    assert AmiRunner is Direct


def test_amirunner_module_path_and_signature():
    from cacofonisk.runners.ami_runner import AmiRunner
    from cacofonisk import ChannelManager
    params = list(inspect.signature(AmiRunner).parameters.values())
    assert [p.name for p in params[:2]] == ["amihosts", "reporter"]
    by_name = {p.name: p for p in params}
    assert by_name["channel_manager"].default is ChannelManager


def test_channel_module_exports_manager_and_channel():
    from cacofonisk import ChannelManager as Top
    from cacofonisk.channel import Channel, ChannelManager
    assert ChannelManager is Top
    assert inspect.isclass(Channel)


def test_other_documented_paths_import():
    from cacofonisk import BaseReporter as Top
    from cacofonisk import CallerId as TopCid
    from cacofonisk import FileRunner as TopRunner
    from cacofonisk.callerid import CallerId
    from cacofonisk.reporters import BaseReporter
    from cacofonisk.runners.file_runner import FileRunner
    from cacofonisk.utils.testcases import BaseTestCase, SilentReporter
    assert (CallerId, BaseReporter, FileRunner) == (TopCid, Top, TopRunner)
    assert issubclass(BaseTestCase, unittest.TestCase)
    assert issubclass(SilentReporter, BaseReporter)


def test_aliases_are_the_same_objects():
    from cacofonisk import FileRunner, JsonFileReporter, JsonFileRunner, JsonReporter
    assert JsonFileRunner is FileRunner
    assert JsonFileReporter is JsonReporter


@pytest.mark.parametrize("name,value", [
    ("AST_CAUSE_UNKNOWN", 0), ("AST_CAUSE_UNALLOCATED", 1),
    ("AST_CAUSE_NORMAL_CLEARING", 16), ("AST_CAUSE_USER_BUSY", 17),
    ("AST_CAUSE_NO_USER_RESPONSE", 18), ("AST_CAUSE_NO_ANSWER", 19),
    ("AST_CAUSE_CALL_REJECTED", 21), ("AST_CAUSE_ANSWERED_ELSEWHERE", 26),
    ("AST_CAUSE_NORMAL_CIRCUIT_CONGESTION", 34), ("AST_CAUSE_INTERWORKING", 127),
    ("AST_STATE_DOWN", 0), ("AST_STATE_RING", 4), ("AST_STATE_RINGING", 5),
    ("AST_STATE_UP", 6), ("AST_STATE_BUSY", 7),
])
def test_constants_have_asterisks_values(name, value):
    from cacofonisk import constants
    assert getattr(constants, name) == value


def test_constants_import_by_name():
    from cacofonisk.constants import AST_CAUSE_NORMAL_CLEARING, AST_STATE_UP
    assert (AST_CAUSE_NORMAL_CLEARING, AST_STATE_UP) == (16, 6)


# -- a hand-built AMI 2 log --------------------------------------------------------------

A, B = "pbx-1.1", "pbx-1.2"
NAMES = {A: "SIP/201-00000001", B: "SIP/202-00000002"}


def chan(name: str, uid: str, **headers: str) -> dict[str, Any]:
    return {"Event": name, "Channel": NAMES[uid], "Uniqueid": uid, "Linkedid": A, **headers}


def call_log(a: str = A, b: str = B) -> list[dict[str, Any]]:
    names = {a: f"SIP/201-{a}", b: f"SIP/202-{b}"}

    def c(name: str, uid: str, **headers: str) -> dict[str, Any]:
        return {"Event": name, "Channel": names[uid], "Uniqueid": uid, "Linkedid": a,
                **headers}

    return [
        c("Newchannel", a, ChannelState="0", CallerIDNum="201", CallerIDName="Alice",
          AccountCode="12", Exten="202"),
        c("Newstate", a, ChannelState="4"),
        c("Newchannel", b, ChannelState="0", CallerIDNum="202", CallerIDName="Bob",
          Exten="s"),
        c("DialBegin", a, DestUniqueid=b),
        c("Newstate", b, ChannelState="5"),
        c("DialState", a, DestUniqueid=b, DialStatus="RINGING"),
        c("DialEnd", a, DestUniqueid=b, DialStatus="ANSWER"),
        c("Newstate", b, ChannelState="6"),
        c("Newstate", a, ChannelState="6"),
        {"Event": "BridgeCreate", "BridgeUniqueid": f"br-{a}"},
        c("BridgeEnter", b, BridgeUniqueid=f"br-{a}"),
        c("BridgeEnter", a, BridgeUniqueid=f"br-{a}"),
        c("Hangup", b, Cause="16"),
        c("Hangup", a, Cause="16"),
    ]


def write(path: Path, events: list[dict[str, Any]]) -> str:
    path.write_text(json.dumps(events))
    return str(path)


# -- a reporter written against the 2017 README -------------------------------------------

def readme_2017_reporter() -> Any:
    from cacofonisk import BaseReporter

    class ReportAllTheThings(BaseReporter):
        def __init__(self) -> None:
            self.lines: list[str] = []
            self.closed = 0

        def trace_ami(self, ami):  # type: ignore[no-untyped-def]
            pass

        def trace_msg(self, msg):  # type: ignore[no-untyped-def]
            pass

        def on_b_dial(self, call_id, caller, to_number, targets):  # type: ignore[no-untyped-def]
            numbers = ",".join(sorted(t.number for t in targets))
            self.lines.append(f"b_dial {call_id} {caller.number} -> {to_number} [{numbers}]")

        def on_up(self, call_id, caller, to_number, callee):  # type: ignore[no-untyped-def]
            self.lines.append(f"up {call_id} {caller.code} {caller.number} {callee.number}")

        def on_warm_transfer(self, call_id, merged_id, redirector,  # type: ignore
                             caller, destination):
            self.lines.append("warm")

        def on_cold_transfer(self, call_id, merged_id, redirector,  # type: ignore
                             caller, to_number, targets):
            self.lines.append("cold")

        def on_hangup(self, call_id, caller, to_number, reason):  # type: ignore[no-untyped-def]
            self.lines.append(f"hangup {call_id} {caller.number} {reason}")

        def close(self):  # type: ignore[no-untyped-def]
            self.closed += 1

    return ReportAllTheThings()


def test_2017_readme_reporter_works_unchanged(tmp_path):
    from cacofonisk import FileRunner
    reporter = readme_2017_reporter()
    FileRunner(write(tmp_path / "call.json", call_log()), reporter).run()
    assert reporter.lines == [
        f"b_dial {A} 201 -> 202 [202]",
        f"up {A} 12 201 202",
        f"hangup {A} 201 completed",
    ]
    assert reporter.closed == 1


def test_reporter_with_its_own_parameter_names_gets_positional_arguments(tmp_path):
    from cacofonisk import BaseReporter, CallerId, FileRunner

    class Renamed(BaseReporter):
        def __init__(self) -> None:
            self.got: list[Any] = []

        def on_up(self, ident, who, dialled, answered_by):  # type: ignore[no-untyped-def]
            self.got.append((ident, who, dialled, answered_by))

    reporter = Renamed()
    FileRunner(write(tmp_path / "call.json", call_log()), reporter).run()
    assert reporter.got == [(A, CallerId(12, "Alice", "201", True), "202",
                             CallerId(0, "Bob", "202", True))]


def test_targets_is_a_fresh_list_per_call(tmp_path):
    from cacofonisk import BaseReporter, FileRunner
    from cacofonisk.reporters import MultiReporter

    class Mangler(BaseReporter):
        """Like the 2017 test reporter: changes the targets list in place."""

        def __init__(self) -> None:
            self.seen: list[list[Any]] = []
            self.as_received: list[list[Any]] = []

        def on_b_dial(self, call_id, caller, to_number, targets):  # type: ignore[no-untyped-def]
            self.seen.append(targets)
            self.as_received.append(list(targets))
            targets.append("junk")

        def on_b_dial_end(self, call_id, caller, to_number, targets,  # type: ignore
                          reason):
            self.seen.append(targets)
            self.as_received.append(list(targets))
            targets.append("junk")

    one, two = Mangler(), Mangler()
    FileRunner(write(tmp_path / "call.json", call_log()), MultiReporter([one, two])).run()
    assert len(one.seen) == len(two.seen) == 2
    assert all(isinstance(t, list) for t in one.seen + two.seen)
    # neither another reporter nor a later call sees the junk
    assert one.as_received == two.as_received
    assert all("junk" not in t and len(t) == 1 for t in one.as_received + two.as_received)
    assert one.seen[0] is not two.seen[0] and one.seen[1] is not one.seen[0]


# -- FileRunner ---------------------------------------------------------------------------

class Counting:
    def __init__(self) -> None:
        self.closed = 0
        self.hangups: list[str] = []

    def on_hangup(self, call_id, caller, to_number, reason):  # type: ignore[no-untyped-def]
        self.hangups.append(call_id)

    def close(self) -> None:
        self.closed += 1


def test_file_runner_signature_matches_the_contract():
    from cacofonisk import ChannelManager, FileRunner
    params = inspect.signature(FileRunner).parameters
    assert list(params)[:3] == ["files", "reporter", "channel_manager_class"]
    assert params["channel_manager_class"].default is ChannelManager


def test_file_runner_takes_a_single_path(tmp_path):
    from cacofonisk import ChannelManager, FileRunner
    reporter = Counting()
    runner = FileRunner(write(tmp_path / "one.json", call_log()), reporter)
    runner.run()
    assert reporter.hangups == [A]
    assert reporter.closed == 1
    assert len(runner.channel_managers) == 1
    assert isinstance(runner.channel_managers[0], ChannelManager)


def test_file_runner_takes_a_pathlib_path(tmp_path):
    from cacofonisk import FileRunner
    path = tmp_path / "one.json"
    write(path, call_log())
    reporter = Counting()
    FileRunner(path, reporter).run()
    assert reporter.hangups == [A]


def test_file_runner_replays_several_files_with_fresh_managers_and_closes_once(tmp_path):
    from cacofonisk import FileRunner
    files = [write(tmp_path / "one.json", call_log()),
             write(tmp_path / "two.json", call_log("x-2.1", "x-2.2")),
             write(tmp_path / "three.json", call_log())]  # same ids again: fresh manager
    reporter = Counting()
    runner = FileRunner(files, reporter)
    runner.run()
    assert reporter.hangups == [A, "x-2.1", A]
    assert reporter.closed == 1
    assert len(runner.channel_managers) == 3
    assert len({id(m) for m in runner.channel_managers}) == 3
    assert all(m.is_idle() for m in runner.channel_managers)


def test_file_runner_uses_the_given_channel_manager_class(tmp_path):
    from cacofonisk import ChannelManager, FileRunner

    made: list[Any] = []

    class MyManager(ChannelManager):
        def __init__(self, reporter: Any, **kwargs: Any) -> None:
            super().__init__(reporter=reporter, **kwargs)
            made.append(self)

    files = [write(tmp_path / "a.json", call_log()), write(tmp_path / "b.json", call_log())]
    runner = FileRunner(files, Counting(), channel_manager_class=MyManager)
    runner.run()
    assert runner.channel_managers == made
    assert all(type(m) is MyManager for m in made) and len(made) == 2


def test_file_runner_closes_the_reporter_even_when_a_file_is_missing(tmp_path):
    from cacofonisk import FileRunner
    from cacofonisk.errors import CacofoniskError
    reporter = Counting()
    files = [write(tmp_path / "one.json", call_log()), str(tmp_path / "missing.json")]
    with pytest.raises(CacofoniskError):
        FileRunner(files, reporter).run()
    assert reporter.closed == 1
    assert reporter.hangups == [A]


def test_file_runner_replays_a_log_whose_header_values_are_lists(tmp_path):
    from cacofonisk import FileRunner
    listed = [{key: [value] for key, value in event.items()} for event in call_log()]
    reporter = Counting()
    FileRunner(write(tmp_path / "listed.json", listed), reporter).run()
    assert reporter.hangups == [A]


# -- a 2017-style unittest ----------------------------------------------------------------

LOG_FOR_UNITTEST: list[str] = []


def _make_legacy_case() -> type[unittest.TestCase]:
    from cacofonisk import BaseReporter, ChannelManager
    from cacofonisk.utils.testcases import BaseTestCase

    class TestReporter(BaseReporter):
        def __init__(self) -> None:
            self.events: list[Any] = []

        def on_b_dial(self, call_id, caller, to_number, targets):  # type: ignore[no-untyped-def]
            targets.sort(key=lambda t: t.number)
            self.events.append(("b_dial", call_id, caller.number, to_number,
                                [t.number for t in targets]))

        def on_up(self, call_id, caller, to_number, callee):  # type: ignore[no-untyped-def]
            self.events.append(("up", call_id, caller.number, to_number, callee.number))

        def on_hangup(self, call_id, caller, to_number, reason):  # type: ignore[no-untyped-def]
            self.events.append(("hangup", call_id, caller.number, to_number, reason))

    class LegacyCallTest(BaseTestCase):
        def test_answered_call(self) -> None:
            events = self.load_events_from_disk(LOG_FOR_UNITTEST[0])
            reporter = TestReporter()
            manager = ChannelManager(reporter=reporter)
            for event in events:
                manager.on_event(event)
            self.assertEqual(reporter.events, [
                ("b_dial", A, "201", "202", ["202"]),
                ("up", A, "201", "202", "202"),
                ("hangup", A, "201", "202", "completed"),
            ])

        def test_open_file_reads_the_log(self) -> None:
            with self.open_file(LOG_FOR_UNITTEST[0]) as handle:
                self.assertEqual(len(json.load(handle)), len(call_log()))

    return LegacyCallTest


def test_2017_style_unittest_runs_and_passes(tmp_path):
    LOG_FOR_UNITTEST[:] = [write(tmp_path / "fixture.json", call_log())]
    case = _make_legacy_case()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    suite.run(result)
    assert result.testsRun == 2
    assert result.wasSuccessful(), result.failures + result.errors


def test_2017_style_unittest_can_fail(tmp_path):
    # the same case against a different call must fail: the check is real
    LOG_FOR_UNITTEST[:] = [write(tmp_path / "other.json", call_log("o-1", "o-2"))]
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(_make_legacy_case())
    result = unittest.TestResult()
    suite.run(result)
    assert len(result.failures) == 1


def test_channel_manager_takes_reporter_keyword_and_one_event_at_a_time():
    from cacofonisk import ChannelManager
    from cacofonisk.utils.testcases import SilentReporter
    manager = ChannelManager(reporter=SilentReporter())
    for event in call_log():
        assert manager.on_event(event) is None
    assert "*" in manager.INTERESTING_EVENTS or "Hangup" in manager.INTERESTING_EVENTS

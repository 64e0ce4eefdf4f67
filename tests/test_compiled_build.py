"""The optional mypyc-compiled core behaves as the pure one, for users too.

The whole suite runs on both builds (scripts/test.sh: pure, then
``CACOFONISK_MYPYC=1``); these tests check what only a compiled build can
get wrong: that the build asked for is the one in use, that it leaves no
hash-named module at the repository root, and that users can still
subclass ``ChannelManager`` in plain Python.
"""
from __future__ import annotations

import ast
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cacofonisk import ChannelManager
from cacofonisk.testing.recorder import RecordingReporter

ROOT = Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    """The modules setup.py compiles when CACOFONISK_MYPYC=1 (its ``COMPILED``)."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED":
            paths = ast.literal_eval(node.value)
            return [p.removeprefix("cacofonisk/").removesuffix(".py").replace("/", ".")
                    for p in paths]
    raise AssertionError("setup.py has no COMPILED list")


COMPILED = compiled_modules()
EXPECT = os.environ.get("CACOFONISK_EXPECT_BUILD", "")


def is_compiled(module: str) -> bool:
    path = importlib.import_module(f"cacofonisk.{module}").__file__ or ""
    return not path.endswith(".py")


@pytest.mark.skipif(EXPECT not in ("pure", "compiled"),
                    reason="CACOFONISK_EXPECT_BUILD=pure|compiled is set by scripts/test.sh")
def test_the_core_in_use_is_the_build_the_suite_was_asked_to_test() -> None:
    found = {module: is_compiled(module) for module in COMPILED}
    assert found == {module: EXPECT == "compiled" for module in COMPILED}


def test_no_compiled_module_lies_at_the_repository_root() -> None:
    # mypyc names a shared library after a hash of its modules and puts it
    # at the top level unless the group is named inside the package.
    assert sorted(p.name for p in ROOT.glob("*.so")) == []
    assert sorted(p.name for p in ROOT.glob("*__mypyc*")) == []


def test_an_interpreted_subclass_of_channel_manager_runs_its_own_code() -> None:
    """Users subclass ChannelManager; a compiled class must allow it."""
    events = json.loads((ROOT / "scenarios" / "ami2" / "answered.json").read_text())

    class Counting(ChannelManager):
        def __init__(self, reporter: Any) -> None:
            super().__init__(reporter, server="sub")
            self.seen = 0

        def on_event(self, event: Any) -> None:
            self.seen += 1
            super().on_event(event)

    recorder = RecordingReporter()
    manager = Counting(recorder)
    for event in events:
        manager.on_event(event)
    manager.flush()
    assert manager.seen >= len(events)  # the manager may feed itself events too (replays)
    assert [r.HOOK for r in recorder.records][-1] == "on_hangup"
    assert {r.server for r in recorder.records} == {"sub"}
    assert "Newchannel" in Counting.INTERESTING_EVENTS  # a class attribute still

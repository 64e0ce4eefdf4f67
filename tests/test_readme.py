"""The README's commands and examples work as written."""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

import pytest

from cacofonisk.runners.file_runner import FileRunner

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)


def _python_block(marker: str) -> str:
    for lang, code in BLOCKS:
        if lang == "python" and marker in code:
            return code
    raise AssertionError(f"no python block with {marker!r} in README.md")


def test_readme_starts_with_the_demo_and_the_test_command_that_ci_runs() -> None:
    lang, first = BLOCKS[0]
    assert README.index("```") < README.index("\n## ")  # before any section
    commands = [line for line in first.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "cacofonisk replay scenarios/" in commands[0]
    assert commands[1] == "bash scripts/test.sh"
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
    scenario = re.search(r"replay (scenarios/\S+)", commands[0])
    assert scenario and (ROOT / scenario.group(1)).is_file()


def test_readme_2017_style_test_case_passes_from_any_directory(tmp_path: Path) -> None:
    """As a user has it: the test file in their tests/, the log beside it
    (written as the README's comment says), run from some other directory."""
    from cacofonisk.cli import main

    tests = tmp_path / "project" / "tests"
    tests.mkdir(parents=True)
    assert main(["scenario", "answered", "-o", str(tests / "answered.json")]) == 0
    namespace: dict[str, object] = {"__file__": str(tests / "test_my_reporter.py"),
                                    "__name__": "test_my_reporter"}
    exec(_python_block("class TestMyReporter"), namespace)  # noqa: S102 - our README
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(namespace["TestMyReporter"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)
    try:
        result = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
    finally:
        os.chdir(cwd)
    assert result.testsRun == 1 and result.wasSuccessful(), result.failures + result.errors


def test_readme_reporter_example_prints_the_calls_of_a_scenario() -> None:
    code = _python_block("class ReportAllTheThings")
    code = code[:code.index("runner = AmiRunner(")]  # keep the reporter, not the live run
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - our README
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        FileRunner([str(ROOT / "scenarios/ami2/blind_transfer.json")],
                   namespace["ReportAllTheThings"]()).run()
    text = out.getvalue()
    assert "is calling" in text and "picked up" in text and "sent" in text
    assert "ended: completed" in text


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to copy the checkout")
def test_readme_first_command_runs_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    """Run the README's first line as written, in a clean copy of the repository."""
    first = BLOCKS[0][1].splitlines()[0]
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    copy = tmp_path / "checkout"
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    done = subprocess.run(["bash", "-c", first], cwd=copy, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "blind_transfer" in done.stdout and "hangup" in done.stdout


def test_readme_eventfilter_lists_exactly_the_events_the_manager_consumes() -> None:
    from cacofonisk import ChannelManager

    found = re.search(r"eventfilter = Event: \(([^)]*)\)", README)
    assert found, "README.md has no eventfilter line"
    listed = set(found.group(1).split("|"))
    assert listed == set(ChannelManager.INTERESTING_EVENTS) | {"UserEvent", "FullyBooted",
                                                               "Shutdown"}

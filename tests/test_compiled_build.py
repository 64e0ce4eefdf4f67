"""The optional mypyc-compiled core behaves as the pure one, for users too.

The whole suite runs on both builds (scripts/test.sh: pure, then
``CACOFONISK_MYPYC=1``); these tests check what only a compiled build can
get wrong: that the build asked for is the one in use, that it leaves no
hash-named module at the repository root, that users can still
subclass ``ChannelManager`` in plain Python, and that the compiled build
works on a fresh venv (the README's command), not only after a pure install.
"""
from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
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


def copy_of_the_sources(into: Path) -> Path:
    """What pip needs to build cacofonisk, without build output or caches."""
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, into / name)
    ignore = shutil.ignore_patterns("*.so", "__pycache__", "*.pyc")
    for folder in ("build_support", "cacofonisk"):
        shutil.copytree(ROOT / folder, into / folder, ignore=ignore)
    return into


@pytest.mark.skipif(EXPECT == "compiled",
                    reason="the fresh-venv compiled build check does not depend on the "
                           "installed build: it runs in the pure pass")
def test_the_compiled_build_type_checks_in_a_fresh_venv_and_drops_stale_modules(
        tmp_path: Path) -> None:
    """``CACOFONISK_MYPYC=1 pip install -e .`` on a venv with nothing installed.

    mypyc type-checks the modules it compiles while pip prepares the
    metadata, inside pip's isolated build environment; it used to find
    attrs, transitions and panoramisk only in the target venv's
    site-packages, so the README's command failed on a fresh venv. A
    ``--dry-run`` stops after that check, before the C compiler runs.

    setup.py also deletes, then, a compiled module an earlier build left
    beside the sources for a module no longer compiled (Python would
    import it instead of the .py file), and keeps the others.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (tmp_path / "src").mkdir()
    source = copy_of_the_sources(tmp_path / "src")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    stale = source / "cacofonisk" / f"events{suffix}"  # events.py is never compiled
    kept = source / "cacofonisk" / "fsm" / f"call{suffix}"
    assert "fsm.call" in COMPILED
    stale.write_bytes(b"")
    kept.write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--dry-run", "--no-deps", "--disable-pip-version-check", "-e", str(source)],
        env={**os.environ, "CACOFONISK_MYPYC": "1"}, capture_output=True, text=True,
        timeout=600)
    if done.returncode != 0 and "No matching distribution found" in done.stderr:
        pytest.skip("the fresh-venv compiled build check needs the package index "
                    "(setuptools, mypy and the runtime dependencies)")
    assert "import-not-found" not in done.stdout + done.stderr
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "Would install cacofonisk" in done.stdout
    assert not stale.exists() and kept.exists()


def test_the_pure_build_asks_for_nothing_and_the_compiled_one_for_the_dependencies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib
    sys.path.insert(0, str(ROOT / "build_support"))
    try:
        backend = importlib.import_module("cacofonisk_build")
    finally:
        sys.path.remove(str(ROOT / "build_support"))
    monkeypatch.chdir(ROOT)  # pip runs the hooks in the project's directory
    monkeypatch.delenv("CACOFONISK_MYPYC", raising=False)
    assert backend.get_requires_for_build_editable() == []
    monkeypatch.setenv("CACOFONISK_MYPYC", "1")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    asked = backend.get_requires_for_build_editable()
    assert set(project["project"]["dependencies"]) <= set(asked)
    assert any(requirement.startswith("mypy") for requirement in asked)

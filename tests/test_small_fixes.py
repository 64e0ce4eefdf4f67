"""The small findings of issue 11, item 17 (and 18: licence and changelog)."""
from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cacofonisk
from cacofonisk import ChannelManager
from cacofonisk.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: What the runner asks for beside the events a rule consumes (README says so).
RUNNER_EVENTS = {"UserEvent", "FullyBooted", "Shutdown"}


def test_readme_eventfilter_line_lists_exactly_what_the_code_consumes():
    """Whoever adds an event to INTERESTING_EVENTS must update the README."""
    match = re.search(r"^eventfilter = Event: \((.*)\)$", README, flags=re.M)
    assert match, "no eventfilter line in README.md"
    listed = match.group(1).split("|")
    assert listed == sorted(listed), "keep the README's list sorted"
    assert set(listed) == set(ChannelManager.INTERESTING_EVENTS) | RUNNER_EVENTS
    assert "plus UserEvent, FullyBooted\nand Shutdown" in README or \
        "plus UserEvent, FullyBooted and Shutdown" in README.replace("\n", " ")


def test_multi_reporter_is_importable_from_the_package():
    from cacofonisk import MultiReporter
    from cacofonisk.reporters import MultiReporter as where_it_lives
    assert MultiReporter is where_it_lives and "MultiReporter" in cacofonisk.__all__


def test_library_logger_has_a_null_handler_so_an_unconfigured_program_prints_nothing():
    assert any(isinstance(h, logging.NullHandler)
               for h in logging.getLogger("cacofonisk").handlers)
    code = ("import cacofonisk; m = cacofonisk.ChannelManager(cacofonisk.BaseReporter());"
            "m.on_event({'Event': 'Hangup', 'Uniqueid': 'x', 'Channel': 'SIP/x'});"
            "m.on_event({'Event': 'Newstate', 'Uniqueid': 'y'})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stderr == ""


def test_json_reporter_docstring_documents_only_arguments_it_takes():
    import inspect

    from cacofonisk import JsonReporter
    params = set(inspect.signature(JsonReporter).parameters)
    doc = JsonReporter.__doc__ or ""
    args = doc.split("Args:", 1)[1].split("Raises:", 1)[0] if "Args:" in doc else ""
    documented = set(re.findall(r"^\s{8}(\w+):", args, flags=re.M))
    assert documented, "JsonReporter documents no argument"
    assert documented <= params, documented - params


def test_nothing_points_a_user_to_an_api_md_the_repository_lacks():
    package = sorted((ROOT / "cacofonisk").rglob("*.py"))
    assert len(package) > 50
    for path in [ROOT / "README.md", *package]:
        assert "API.md" not in path.read_text(encoding="utf-8"), path
    for path in package:  # the pages the docstrings point to instead exist
        for page in re.findall(r"docs/[\w-]+\.md", path.read_text(encoding="utf-8")):
            assert (ROOT / page).is_file(), (path, page)
    assert "docs/api.md" in (cacofonisk.BaseReporter.__doc__ or "")
    assert (ROOT / "docs" / "api.md").is_file()


@pytest.mark.parametrize("argv, entry", [
    (["--host", "tcp://ami@:5038"], "--host tcp://ami@:5038"),
    (["--config", "{config}"], "config [servers.pbx1]"),
])
def test_listen_names_a_bad_host_once_in_the_users_terms(tmp_path, monkeypatch, capsys,
                                                         argv, entry):
    monkeypatch.setenv("CACOFONISK_AMI_PASSWORD", "not-used")
    config = tmp_path / "servers.toml"
    config.write_text('[servers.pbx1]\nhost = "10.0.0.5"\nusername = "ami"\nport = "x"\n')
    assert main(["listen", *[a.format(config=config) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and entry in err
    assert "#0" not in err and "AMI host" not in err and "user:pass@" not in err


def test_licence_file_is_mit_and_the_changelog_exists():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in licence
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert cacofonisk.__version__.split(".dev")[0] in changelog


def test_the_wheel_ships_the_licence_file():
    """pip wheel . puts LICENSE under the dist-info's licenses/ (checked by hand
    with pip wheel; building a wheel here would need the network)."""
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"  # an SPDX expression (PEP 639)
    assert project["project"]["license-files"] == ["LICENSE"]


def test_a_run_without_the_shared_recordings_says_how_many_tests_skipped_and_why(tmp_path):
    env = {**__import__("os").environ, "CACOFONISK_SHARED": str(tmp_path / "absent")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "tests/test_conformance.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    tail = done.stdout.splitlines()
    header = next(line for line in tail if "SKIPPED, and why" in line)
    count = int(header.split()[1])
    assert count >= 5
    assert any(line.strip().startswith(f"{count} skipped: the shared recordings folder")
               and "absent" in line for line in tail), done.stdout[-2000:]


def test_the_readme_test_command_lists_the_skips():
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "pytest -n 2 -p no:cacheprovider -rs" in script

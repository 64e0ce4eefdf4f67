"""The bench/ scripts run from a clone alone, and print their figures.

Each script runs in a tiny mode (a copy or two of each log, one run) with
``CACOFONISK_SHARED`` pointing nowhere, as on a fresh clone without the
third-party recordings: it must say loudly that it used the simulated
streams, complete, and print the figures its table promises. Nothing here
asserts a speed: timings belong to the benchmark, not to the tests.

The rows of the original releases need their venvs (bench/.venvs, made by
``python bench/run.py`` with network access); without them those variants
skip and say so, and the project-only variants still run.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENVS = BENCH / ".venvs"
ORIGINALS_PRESENT = all((VENVS / f"cacofonisk-{v}" / "bin" / "python").exists()
                        for v in ("0.4.0", "0.7.10"))
NO_ORIGINALS = ("the venvs of cacofonisk 0.4.0/0.7.10 are absent (bench/.venvs); "
                "python bench/run.py creates them (needs PyPI)")
SIMULATED = "streams from the SIMULATOR"


def bench(script: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a bench script as a user would, without the recordings."""
    env = {**os.environ, "CACOFONISK_SHARED": str(tmp_path / "nonexistent"),
           "CACOFONISK_BENCH_SIM": str(tmp_path / "sim")}
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300, check=False)


def figures(line: str) -> list[float]:
    """The numbers on a table row (thousands separators removed)."""
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\.?\d*", line)]


def row(output: str, label: str) -> str:
    """The table row that starts with ``label``, without the label."""
    lines = [line for line in output.splitlines() if line.startswith(label)]
    assert lines, f"no {label!r} row in:\n{output}"
    return lines[0][len(label):]


@pytest.mark.parametrize("originals", [False, pytest.param(True, marks=pytest.mark.skipif(
    not ORIGINALS_PRESENT, reason=NO_ORIGINALS))], ids=["project", "with-originals"])
def test_run_py_measures_the_simulated_streams_from_a_clone(tmp_path: Path,
                                                             originals: bool) -> None:
    done = bench("run.py", "--copies", "1", "--in-flight", "10",
                 *([] if originals else ["--no-originals"]), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert SIMULATED in done.stderr
    for ami in ("ami1", "ami2"):
        assert f"== {ami} (SIMULATED logs)" in done.stdout
    manager = row(done.stdout, "project manager")
    assert figures(manager)[2] > 0  # events/s
    assert "ok" in manager.split()  # K copies give K times one copy's hooks
    assert row(done.stdout, "project FileRunner")
    assert "gc objs" in done.stdout
    if originals:
        for version in ("0.4.0", "0.7.10"):
            assert figures(row(done.stdout, f"original {version}"))[2] > 0
        assert "ratio project manager / original" in done.stdout
    else:
        assert "not measured (--no-originals)" in done.stdout


def test_run_py_soak_reports_rss_and_hook_counts_from_a_clone(tmp_path: Path) -> None:
    done = bench("run.py", "--soak", "5000", "--only", "ami2", "--in-flight", "20",
                 tmp_path=tmp_path)
    assert SIMULATED in done.stderr
    assert "RSS MiB: first" in done.stdout, done.stderr
    # a stream this short gives no RSS verdict (exit 1) but must count right
    assert re.search(r"hook calls [\d,]+, expected from the logs one by one [\d,]+: ok",
                     done.stdout)
    assert "objects freed by the cyclic gc 0" in done.stdout


@pytest.mark.parametrize("originals", [False, pytest.param(True, marks=pytest.mark.skipif(
    not ORIGINALS_PRESENT, reason=NO_ORIGINALS))], ids=["project", "with-originals"])
def test_live_py_times_every_client_over_tcp_from_a_clone(tmp_path: Path,
                                                          originals: bool) -> None:
    done = bench("live.py", "--copies", "1", "--repeat", "1",
                 *([] if originals else ["--no-originals"]), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert SIMULATED in done.stderr
    labels = ["raw socket (floor)", "panoramisk alone", "AmiRunner, no server filter",
              "AmiRunner (server Filter)"] + (["0.7.10 AmiRunner"] if originals else [])
    for label in labels:
        numbers = figures(row(done.stdout, label))
        assert numbers[0] > 0 and numbers[-1] > 0  # µs per event, events on the wire
    if originals:
        assert "ratio AmiRunner, no server filter / 0.7.10" in done.stdout
    else:
        assert "0.7.10 AmiRunner" not in done.stdout


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_icount_py_counts_instructions_from_a_clone(tmp_path: Path) -> None:
    done = bench("icount.py", "--only", "ami1", "--copies", "1", "--in-flight", "5",
                 "--project-only", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert SIMULATED in done.stderr
    found = re.search(r"ami1: project ([\d,]+) instructions/event", done.stdout)
    assert found and int(found.group(1).replace(",", "")) > 0, done.stdout

"""Instructions per event under callgrind: a repeatable complement to run.py.

    python bench/icount.py                      # both streams, project and original
    python bench/icount.py --only ami1 --copies 2 --in-flight 200

Wall and CPU time on a shared 2-core machine drift by 10-20 % between runs,
which hides the effect of most single optimisations. ``valgrind
--tool=callgrind`` counts executed instructions instead: the same count for
the same code, input and hash seed, whatever else the machine does. This
script runs the same worker set-up as run.py (stream built by streams.py,
counting reporter, events skipped by name as each implementation's own
FileRunner does, gc.freeze, logging to a NullHandler at WARNING) twice
under callgrind, once without and once with the pass over the stream, and
prints the difference divided by the number of events.

Instructions are not time: memory stalls (many calls in flight) and the
garbage collector's cost as the heap grows do not show. Use it to compare
versions of the code, and run.py for the figures that count.

Needs valgrind (Debian package ``valgrind``) and the venvs run.py creates.
Under callgrind Python runs about 50 times slower: the default stream is
small (2 copies of each log, 200 in flight); one measurement takes 30-60 s.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORIGINAL = {"ami1": ("orig04", "0.4.0"), "ami2": ("orig07", "0.7.10")}


def inner(ami: str, copies: int, window: int, impl_name: str, timed: bool) -> None:
    """Set up like worker.py; pass over the stream only if ``timed``; print its length."""
    sys.path.insert(0, str(BENCH))
    import streams  # bench/ is on sys.path only here
    import worker

    root = logging.getLogger()
    root.handlers[:] = [logging.NullHandler()]
    root.setLevel(logging.WARNING)
    stream, _ = streams.build(streams.load_templates(ami), copies, window, 1)
    impl = worker.Impl(impl_name)
    manager, _reporter, _counts = impl.new()
    on_event, interesting = manager.on_event, impl.interesting
    gc.collect()
    gc.freeze()
    errors = 0
    if timed:
        for event in stream:
            if interesting is None or event["Event"] in interesting:
                try:
                    on_event(event)
                except Exception:  # noqa: BLE001 - counted, as worker.py does
                    errors += 1
    print(len(stream), errors)


def count(python: str, args: list[str]) -> tuple[int, int]:
    """(instructions, events) of one callgrind run of this script in inner mode."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python,
         str(Path(__file__).resolve()), "--inner", *args],
        capture_output=True, text=True, env=env, cwd="/tmp", check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None or not done.stdout.strip():
        raise SystemExit(f"icount: callgrind run failed:\n{done.stderr[-2000:]}")
    return int(found.group(1)), int(done.stdout.split()[0])


def per_event(python: str, ami: str, copies: int, window: int, impl: str) -> float:
    """Instructions per event of the pass alone (both runs in parallel)."""
    common = [ami, str(copies), str(window), impl]
    # Once without callgrind first: on a fresh clone the two parallel runs
    # below would otherwise race to compile the modules they import (the
    # generated parsers, bench/worker.py) to __pycache__, and the one that
    # compiles them pays millions of instructions the other does not.
    subprocess.run([python, __file__, "--inner", ami, "1", "1", impl, "setup"],
                   capture_output=True, cwd="/tmp", check=False,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    with subprocess.Popen([sys.executable, __file__, "--pair", python, *common, "setup"],
                          stdout=subprocess.PIPE, text=True) as setup:
        full, events = count(python, [*common, "timed"])
        out, _ = setup.communicate()
    base = int(out.split()[0])
    if full <= base:
        # Cannot be: the pass costs something. The two runs did not run the
        # same set-up (a file written or compiled by one of them while the
        # other read it); measure again, one run after the other.
        print(f"bench: icount: the parallel runs of {impl} {ami} disagree "
              f"({full:,} <= {base:,} instructions); measuring again one after the other",
              file=sys.stderr, flush=True)
        base = count(python, [*common, "setup"])[0]
        full, events = count(python, [*common, "timed"])
        if full <= base:
            raise SystemExit(f"icount: {impl} {ami}: the pass measured no instructions "
                             f"({full:,} with it, {base:,} without); run it again")
    return (full - base) / events


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        ami, copies, window, impl, mode = sys.argv[2:7]
        inner(ami, int(copies), int(window), impl, mode == "timed")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--pair":
        python, *common, mode = sys.argv[2:]
        print(count(python, [*common, mode])[0])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(ORIGINAL))
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--project-only", action="store_true")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("icount: valgrind is not installed (apt-get install valgrind)")
    sys.path.insert(0, str(BENCH))
    import simlogs  # recordings or simulated logs, said loudly

    simlogs.ensure()
    for ami in [args.only] if args.only else sorted(ORIGINAL):
        ours = per_event(sys.executable, ami, args.copies, args.in_flight, "project")
        line = f"{ami}: project {ours:,.0f} instructions/event"
        if not args.project_only:
            impl, version = ORIGINAL[ami]
            python = BENCH / ".venvs" / f"cacofonisk-{version}" / "bin" / "python"
            if not python.exists():
                raise SystemExit(f"icount: {python} is missing; run bench/run.py once")
            theirs = per_event(str(python), ami, args.copies, args.in_flight, impl)
            line += (f", original {version} {theirs:,.0f}; "
                     f"ratio original/project {theirs / ours:.2f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()

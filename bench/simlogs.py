"""Write the simulator's flow variants as event logs, for benchmarks without recordings.

    python bench/simlogs.py          # writes bench/out/sim/{ami1,ami2}/*.json

When the third-party recordings (``../shared/conformance``) are absent, the
benchmark streams are built from the project's own simulated calls: the
checked-in ``scenarios/<ami>/*.json`` (each flow with its default options)
and, written here, every option variant of every flow
(``cacofonisk.testing.variants``: other teardown orders, the callee hanging
up, early media, hold, a busy ring-group member ...). The workers of the
original releases cannot import this project, so the variants go to files
that ``streams.py`` (standard library only) reads like any other log.

Deterministic: the same files every time; they are rewritten on each call.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import streams  # noqa: E402


def write(target: Path = streams.SIMULATED) -> dict[str, int]:
    """Write every non-default variant of each dialect's flows; return logs per dialect."""
    sys.path.insert(0, str(streams.ROOT))
    try:
        from cacofonisk.testing.variants import variants
    except ImportError as err:
        raise SystemExit('bench: cannot build the simulated streams: the project does '
                         'not import ({}); install it first: pip install -e .'.format(err))
    written = {}
    for ami in streams.AMI_DIRS:
        folder = target / ami
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        count = 0
        for name, scenario in variants(ami):
            if '__' not in name:
                continue  # the default is scenarios/<ami>/<flow>.json already
            (folder / '{}.json'.format(name)).write_text(
                json.dumps(list(scenario.events), indent=0), encoding='utf-8')
            count += 1
        written[ami] = count
    return written


def ensure() -> None:
    """Write the simulated logs if the recordings are absent; say which logs are used."""
    if not streams.using_recordings():
        write()
    print(streams.source(), file=sys.stderr, flush=True)


if __name__ == '__main__':
    counts = write()
    print('bench: wrote {} simulated logs in {}'.format(
        ', '.join('{} {}'.format(n, ami) for ami, n in counts.items()),
        streams.SIMULATED))

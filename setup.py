"""Build hook: the optional mypyc-compiled core (``CACOFONISK_MYPYC=1``).

    pip install -e .                      # pure Python (the default; no compiler)
    CACOFONISK_MYPYC=1 pip install -e .   # the hot modules compiled with mypyc

Metadata lives in pyproject.toml; this file only adds the extension modules
when asked. The build backend (``build_backend.py``) asks for mypy (which
ships mypyc) only then, so a default install never needs mypy or a C
compiler. See README, "Performance".
"""
from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent

#: The modules compiled when CACOFONISK_MYPYC=1: everything a live event
#: passes through, from its parser (parsers_generated.py, written from
#: events.py's field tables by ``python -m cacofonisk.parsergen``) on.
#: Records (events.py, calls.py, callerid.py: attrs classes) and the
#: adapters stay interpreted.
COMPILED = [
    "cacofonisk/manager.py",
    "cacofonisk/dialect_hold.py",
    "cacofonisk/parsers_generated.py",
    "cacofonisk/hook_delivery.py",
    "cacofonisk/tracker.py",
    "cacofonisk/registry.py",
    "cacofonisk/bridges.py",
    "cacofonisk/topology.py",
    "cacofonisk/fsm/channel.py",
    "cacofonisk/fsm/call.py",
    "cacofonisk/fsm/engine.py",
    "cacofonisk/callview.py",
    "cacofonisk/event_ids.py",
    "cacofonisk/record_makers.py",
    "cacofonisk/dialects/common.py",
    "cacofonisk/dialects/states.py",
    "cacofonisk/dialects/ami1.py",
    "cacofonisk/dialects/ami2.py",
    "cacofonisk/dialects/transfers2.py",
]


def remove_stale(keep: set) -> None:
    """Delete the compiled modules beside the sources that are not in ``keep``.

    An earlier compiled editable install leaves them there, and Python
    would import them instead of the .py files, and run stale code.
    """
    for stale in sorted((HERE / "cacofonisk").rglob("*.so")):
        module = stale.relative_to(HERE).parent / stale.name.split(".")[0]
        if module.as_posix() not in keep:
            print(f"cacofonisk: removing the stale compiled {stale.relative_to(HERE)}")
            stale.unlink()


def compiled_core() -> list:
    """The mypyc extension modules, or none unless CACOFONISK_MYPYC=1.

    A pure build deletes every compiled module an earlier compiled editable
    install left beside the sources; a compiled build those of modules no
    longer in ``COMPILED``.
    """
    if os.environ.get("CACOFONISK_MYPYC", "") not in ("1", "true", "yes"):
        remove_stale(set())
        return []
    remove_stale({path.removesuffix(".py") for path in COMPILED} | {"cacofonisk/_core__mypyc"})
    from mypyc.build import mypycify

    # One group with a dotted name: its shared library is
    # cacofonisk/_core__mypyc*.so, inside the package, never a hash-named
    # module at the top level.
    return mypycify(COMPILED, opt_level="3", group_name="cacofonisk._core")


setup(ext_modules=compiled_core())

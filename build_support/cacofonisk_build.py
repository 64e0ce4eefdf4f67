"""PEP 517 build backend: setuptools, plus mypy only for the compiled build.

``CACOFONISK_MYPYC=1 pip install -e .`` compiles the hot modules with mypyc
(setup.py), which needs mypy (it ships mypyc) and a C compiler in the
build. A plain ``pip install -e .`` must not: this backend asks pip for
mypy only when the switch is set, and otherwise is setuptools' own.
"""
from __future__ import annotations

import os
from typing import Any

from setuptools.build_meta import *  # noqa: F401,F403 - the rest of the PEP 517 hooks

#: What the compiled build needs on top of setuptools (mypyc comes with mypy).
MYPYC_REQUIRES = ["mypy>=1.8,<3"]


def _compiled() -> bool:
    return os.environ.get("CACOFONISK_MYPYC", "") in ("1", "true", "yes")


# setuptools' own versions of these two run setup.py to find setup_requires
# (this project has none), which would import mypyc before it is installed.

def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    """The build needs: mypy for the compiled build, nothing more otherwise."""
    return list(MYPYC_REQUIRES) if _compiled() else []


def get_requires_for_build_editable(config_settings: Any = None) -> list[str]:
    """As ``get_requires_for_build_wheel``."""
    return get_requires_for_build_wheel(config_settings)

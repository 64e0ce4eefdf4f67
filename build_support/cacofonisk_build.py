"""PEP 517 build backend: setuptools, plus mypy only for the compiled build.

``CACOFONISK_MYPYC=1 pip install -e .`` compiles the hot modules with mypyc
(setup.py), which needs mypy (it ships mypyc) and a C compiler in the
build. A plain ``pip install -e .`` must not: this backend asks pip for
mypy only when the switch is set, and otherwise is setuptools' own.

mypyc type-checks the modules it compiles, so it must also find the
runtime dependencies (attrs, transitions, panoramisk) and their types.
pip's isolated build environment does not have them: mypy would only find
them by accident, in the site-packages of the venv it builds for, after an
earlier pure install put them there; on a fresh venv the compiled build
failed ("Cannot find implementation or library stub for module named
attrs"). So the compiled build asks for them too, read from pyproject.toml
(``project.dependencies``), the one list of them.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from setuptools.build_meta import *  # noqa: F401,F403 - the rest of the PEP 517 hooks

#: What the compiled build needs on top of setuptools (mypyc comes with mypy).
MYPYC_REQUIRES = ["mypy>=1.8,<3"]

#: pip runs the backend's hooks in the project's directory.
PYPROJECT = Path("pyproject.toml")


def _compiled() -> bool:
    return os.environ.get("CACOFONISK_MYPYC", "") in ("1", "true", "yes")


def runtime_requires(pyproject: Path = PYPROJECT) -> list[str]:
    """The project's runtime dependencies, as pyproject.toml lists them.

    mypyc needs them importable inside the build environment to type-check
    the modules it compiles (see the module docstring).
    """
    with pyproject.open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


# setuptools' own versions of these two run setup.py to find setup_requires
# (this project has none), which would import mypyc before it is installed.

def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    """The build needs: mypy and the runtime dependencies for the compiled
    build (mypyc type-checks against them), nothing more otherwise."""
    return [*MYPYC_REQUIRES, *runtime_requires()] if _compiled() else []


def get_requires_for_build_editable(config_settings: Any = None) -> list[str]:
    """As ``get_requires_for_build_wheel``."""
    return get_requires_for_build_wheel(config_settings)

"""mypyc's class options, usable whether or not the core is compiled.

The optional compiled build (``CACOFONISK_MYPYC=1 pip install -e .``)
reads ``@mypyc_attr(...)`` from ``mypy_extensions`` while it compiles; the
pure build must not need mypy_extensions at run time, so the decorator
falls back to doing nothing when it is not installed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:
    try:
        from mypy_extensions import mypyc_attr
    except ImportError:  # the pure build: the options mean nothing here
        def mypyc_attr(*_attrs: Any, **_options: Any) -> Any:
            return lambda cls: cls

__all__ = ["mypyc_attr"]

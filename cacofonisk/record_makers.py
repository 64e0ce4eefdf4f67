"""The hot functions of the record modules, in a module the compiled core compiles.

The records themselves (``CallerId``, the call events) stay interpreted
frozen ``attrs`` classes; the functions that make them for every event are
plain functions and can be compiled with the core (``setup.py``,
``COMPILED``), where the dialects call them without a Python frame. In the
pure build this module is plain Python and costs what the same functions
cost where they were.

Import them from where users find them: ``cacofonisk.callerid.make_caller_id``
(re-exported there). This module imports ``callerid``, which imports this
one at its end, once ``CallerId`` exists; ``cacofonisk/__init__.py``
imports ``callerid`` first.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from .callerid import CallerId
from .events import _builder

#: CallerId's mutable twin (``events._builder``): filled with plain
#: attribute stores, then given CallerId's class.
_CallerIdBuilder: Final = _builder(CallerId)


def make_caller_id(code: int, name: str, number: str | None,
                   is_public: bool | None) -> CallerId:
    """``CallerId(code, name, number, is_public)``, built through its mutable twin.

    The tracker makes one for every new channel and caller-ID change; the
    attrs ``__init__`` of a frozen class goes through ``object.__setattr__``
    per field, and each slot's own ``__set__`` allocates an argument tuple
    per call: filling the twin and switching its class costs much less. No
    validation either way.
    """
    caller_id: Any = _CallerIdBuilder()
    caller_id.code = code
    caller_id.name = name
    caller_id.number = number
    caller_id.is_public = is_public
    caller_id.__class__ = CallerId
    return caller_id  # type: ignore[no-any-return]


def as_targets(value: Iterable[CallerId]) -> tuple[CallerId, ...]:
    """The call events' ``targets`` converter: any iterable of parties as a tuple."""
    return tuple(value)

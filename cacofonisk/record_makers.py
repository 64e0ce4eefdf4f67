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

from collections.abc import Callable, Iterable
from typing import Final

from .callerid import CallerId

_new: Final = object.__new__
_set_code: Final[Callable[[CallerId, int], None]] = CallerId.__dict__["code"].__set__
_set_name: Final[Callable[[CallerId, str], None]] = CallerId.__dict__["name"].__set__
_set_number: Final[Callable[[CallerId, str | None], None]] = CallerId.__dict__["number"].__set__
_set_is_public: Final[Callable[[CallerId, bool | None], None]] = (
    CallerId.__dict__["is_public"].__set__)


def make_caller_id(code: int, name: str, number: str | None,
                   is_public: bool | None) -> CallerId:
    """``CallerId(code, name, number, is_public)``, built through its slots.

    The tracker makes one for every new channel and caller-ID change; the
    attrs ``__init__`` of a frozen class goes through ``object.__setattr__``
    per field, which costs about twice as much. No validation either way.
    """
    caller_id: CallerId = _new(CallerId)
    _set_code(caller_id, code)
    _set_name(caller_id, name)
    _set_number(caller_id, number)
    _set_is_public(caller_id, is_public)
    return caller_id


def as_targets(value: Iterable[CallerId]) -> tuple[CallerId, ...]:
    """The call events' ``targets`` converter: any iterable of parties as a tuple."""
    return tuple(value)

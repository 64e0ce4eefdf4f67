"""CallerId: who is on one end of a call, as user code sees it.

An immutable value with the 2017 field order (code, name, number,
is_public), so positional construction and tuple-like use keep working.
"""
from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(slots=True)
class CallerId:
    """One end of a call.

    Attributes:
        code: the account code (0 when unknown).
        name: the caller-ID name ('' when unknown).
        number: the caller-ID number (None when unknown).
        is_public: whether the number may be shown (None when unknown).

    Usage::

        caller = CallerId(name='My name', number='+311234567', is_public=True)
        caller = caller.replace(code=123456789)
    """

    code: int = 0
    name: str = ""
    number: str | None = None
    is_public: bool | None = None

    def replace(self, **fields: Any) -> CallerId:
        """Return a copy with the given fields changed (TypeError for an unknown field).

        Written out rather than ``attrs.evolve``: the tracker calls it for
        every caller-ID update, and evolve costs several times more.
        """
        copy = make_caller_id(fields.pop("code", self.code), fields.pop("name", self.name),
                              fields.pop("number", self.number),
                              fields.pop("is_public", self.is_public))
        if fields:
            raise TypeError(f"CallerId has no field(s) {', '.join(sorted(fields))}")
        return copy

    def _public_tag(self) -> str:
        if self.is_public is None:
            return ""
        return ";pub" if self.is_public else ";priv"

    def __str__(self) -> str:
        name = self.name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{name}" <{self.number}{self._public_tag()};code={self.code}>'

    def as_dict(self) -> dict[str, Any]:
        """The four fields as a JSON-ready dict."""
        return {"code": self.code, "name": self.name, "number": self.number,
                "is_public": self.is_public}


# Made for every new channel and caller-ID change: it lives with the other
# hot functions of the record modules, which the compiled core compiles.
from .record_makers import make_caller_id  # noqa: E402 - needs CallerId defined

__all__ = ["CallerId", "make_caller_id"]

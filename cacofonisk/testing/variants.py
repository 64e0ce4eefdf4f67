"""Every simulated flow in its option variants: a fixed, repeatable corpus.

The hypothesis strategies (``strategies.py``) draw random options; a
benchmark or a leak check wants the same events every time instead, and
wants them without the third-party recordings. ``variants(dialect)``
builds each flow the dialect supports with its default options and then
once for every other value of each option that changes what Asterisk
sends (who hangs up, which teardown order, early media, hold, a busy
ring-group member ...), all with one id allocator so that the streams can
also run together on one server.

    >>> from cacofonisk.testing.variants import variants
    >>> names = [name for name, _scenario in variants("ami2")]
    >>> "answered" in names and "answered__hold" in names
    True
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .scenarios import FLOWS, build, flow_names
from .sim_base import Ids, Scenario

__all__ = ["OPTION_VARIANTS", "variants"]

_TEARDOWNS = tuple({"teardown_variant": n} for n in range(6))

#: dialect -> flow -> option sets tried one at a time beside the defaults.
OPTION_VARIANTS: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] = {
    "ami2": {
        "answered": (*_TEARDOWNS, {"newstate_first": True}, {"early_media": True},
                     {"hold": True}, {"user_event": "Custom"}),
        "answered_callee_hangs_up": (*_TEARDOWNS, {"newstate_first": True}),
        "cancelled": ({"newstate_first": True},),
        "busy": ({"newstate_first": False},),
        "rejected": ({"newstate_first": False},),
        "no_answer": ({"newstate_first": False},),
        "blind_transfer": _TEARDOWNS,
        "blind_transfer_by_caller": _TEARDOWNS,
        "blonde_transfer": _TEARDOWNS,
        "blonde_transfer_by_caller": _TEARDOWNS,
        "pickup": _TEARDOWNS,
        "originate": _TEARDOWNS,
        "ring_group": (*_TEARDOWNS, {"busy": ("202",)}),
        "queue": ({"repeat_cancel": True},),
        "call_forward": ({"optimize": True},),
    },
    "ami1": {
        "answered": ({"hangup_by": "callee"},),
        "ring_group": ({"hangup_by": "callee"},),
    },
}


def _label(options: Mapping[str, Any]) -> str:
    return "__".join(f"{key}" if value is True else f"{key}_{_flat(value)}"
                     for key, value in options.items())


def _flat(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "_".join(str(item) for item in value)
    return str(value)


def variants(dialect: str, *, ids: Ids | None = None) -> list[tuple[str, Scenario]]:
    """Each flow of ``dialect`` with its defaults, then once per option variant.

    Args:
        dialect: 'ami1' or 'ami2'.
        ids: the id allocator (default: a new one for this dialect); every
            scenario is built from it, so their ids never collide.

    Returns:
        (name, scenario) pairs; the name is the flow, plus ``__option``
        for a variant (``answered__teardown_variant_3``).
    """
    ids = ids or Ids(system="simv" if dialect == "ami2" else "simv1")
    out: list[tuple[str, Scenario]] = []
    table = OPTION_VARIANTS.get(dialect, {})
    for flow in flow_names(dialect):
        # The number set matches the flow's default cast (ring groups: 3).
        numbers = [str(201 + n) for n in range(FLOWS[flow].parties)]
        out.append((flow, build(flow, dialect, numbers=numbers, ids=ids)))
        for options in table.get(flow, ()):
            out.append((f"{flow}__{_label(options)}",
                        build(flow, dialect, numbers=numbers, ids=ids, **options)))
    return out

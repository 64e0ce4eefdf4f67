"""Compare what a tracker reported with what drawn calls expect, and say it short.

Why: ``assert reported == expected`` over a few concurrent calls prints
every field of dozens of records (and hypothesis adds every drawn event),
so the one difference that matters is lost in hundreds of lines.
``call_differences`` names the first call that differs, by its story, and
the first call event where it differs, field by field.

    reported = replay(events)[0].expects()
    assert_calls_reported(calls, reported)
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from .sim_base import Expect, Scenario

#: The fields a line shows (hook first); empty ones are left out.
_SHOWN = ("caller", "to_number", "targets", "reason", "kind", "redirector", "merged_id",
          "name")


def describe(item: Expect) -> str:
    """One short line for an expected or reported call event."""
    parts = [f"{item.hook:<24}"]
    for name in _SHOWN:
        value = getattr(item, name)
        if value:
            parts.append(f"{name}={','.join(value) if isinstance(value, tuple) else value}")
    if not item.caller_public:
        parts.append("caller hidden")
    return " ".join(parts)


def _fields_differing(expected: Expect, got: Expect) -> list[str]:
    return [f"{field.name}: expected {getattr(expected, field.name)!r}, "
            f"reported {getattr(got, field.name)!r}"
            for field in attrs.fields(Expect)
            if getattr(expected, field.name) != getattr(got, field.name)]


def call_difference(call: Scenario, reported: Sequence[Expect]) -> list[str]:
    """How the call events reported for ``call`` differ from its expectations
    ([] when they agree): the first differing event, then the counts."""
    expected = list(call.expected)
    mine = [item for item in reported if item.call_id in call.uniqueids]
    if mine == expected:
        return []
    lines = [f"call {call.flow} ({call.dialect}): {call.story}"]
    for index, (want, got) in enumerate(zip(expected, mine)):
        if want != got:
            lines.append(f"  call event {index + 1} of {len(expected)} differs:")
            lines.append(f"    expected {describe(want)}")
            lines.append(f"    reported {describe(got)}")
            lines.extend(f"    - {line}" for line in _fields_differing(want, got)[:4])
            break
    else:
        index = min(len(expected), len(mine))
        if len(mine) < len(expected):
            lines.append(f"  reported {len(mine)} call events, expected {len(expected)}; "
                         f"the first missing: {describe(expected[index])}")
        else:
            lines.append(f"  reported {len(mine)} call events, expected {len(expected)}; "
                         f"the first extra: {describe(mine[index])}")
    return lines


def call_differences(calls: Iterable[Scenario], reported: Sequence[Expect],
                     limit: int = 3) -> list[str]:
    """The differences of every call (the first ``limit`` in full), then
    call events reported for none of the calls. [] when all agree."""
    calls = list(calls)
    lines: list[str] = []
    differing = 0
    for call in calls:
        difference = call_difference(call, reported)
        if difference:
            differing += 1
            if differing <= limit:
                lines.extend(difference)
    if differing > limit:
        lines.append(f"... and {differing - limit} more call(s) differ")
    known = {uid for call in calls for uid in call.uniqueids}
    strays = [item for item in reported if item.call_id not in known]
    if strays:
        lines.append(f"{len(strays)} call event(s) reported for none of the calls, the "
                     f"first: {strays[0].call_id} {describe(strays[0])}")
    if lines:
        lines.insert(0, f"{differing} of {len(calls)} call(s) reported differently:")
    return lines


def assert_calls_reported(calls: Iterable[Scenario], reported: Sequence[Expect]) -> None:
    """Raise AssertionError, with ``call_differences`` as its short message,
    unless every call reported exactly its expectations and nothing else."""
    lines = call_differences(calls, reported)
    if lines:
        raise AssertionError("\n".join(lines))


__all__ = ["assert_calls_reported", "call_difference", "call_differences", "describe"]

"""The AMI wire format, as the test AMI server speaks it.

Why a module of its own: serializing events and responses, reading action
blocks and loading event logs are the same whatever the server does with
them; the server (``ami_server``) and the list answers (``ami_lists``)
both use them.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..events import AMI1_ONLY

EOL = "\r\n"
#: The AMI version in the banner of an Asterisk 13 and later.
AMI_VERSION = "5.0.0"
#: The AMI version in the banner of an Asterisk 1.8.
AMI1_VERSION = "1.1"

#: What the server accepts as an event log: the events, or a JSON file path.
EventSource = Sequence[Mapping[str, Any]] | str | os.PathLike[str]


def load_events(source: EventSource) -> list[Mapping[str, Any]]:
    """Return the events of a log given as a list or as a JSON file path."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as fd:
            data = json.load(fd)
    else:
        data = source
    if not isinstance(data, list) or not all(isinstance(e, Mapping) for e in data):
        raise ValueError("an event log is a list of AMI events (mappings of str)")
    return list(data)


def format_block(headers: Mapping[str, Any], first: str = "Event") -> bytes:
    """Serialize one AMI message (event or response) as Asterisk writes it.

    The ``first`` header goes first, as AMI clients expect. A list value,
    or a str holding newlines (a repeated header joined by a recorder),
    becomes repeated headers. Values that are neither str nor list cannot be
    sent over AMI and are dropped.
    """
    lines: list[str] = []
    keys = sorted(headers, key=lambda k: k != first)
    for key in keys:
        value = headers[key]
        if isinstance(value, str):
            values = value.split("\n") if "\n" in value else [value]
        elif isinstance(value, list):
            values = [v for v in value if isinstance(v, str)]
        else:
            continue
        lines.extend(f"{key}: {v.rstrip(chr(13))}" for v in values)
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")


def get_field(event: Mapping[str, Any], *names: str) -> str:
    """First str value among ``names``, compared without case (1.x vs 2.x)."""
    wanted = {n.lower() for n in names}
    for key, value in event.items():
        if key.lower() in wanted and isinstance(value, str):
            return value
    return ""


class AmiAction:
    """One action as received: headers in order, looked up without case."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self._lower: dict[str, str] = {}
        for key, value in pairs:
            self._lower.setdefault(key.lower(), value)

    def get(self, key: str, default: str = "") -> str:
        return self._lower.get(key.lower(), default)


def ami_version_of(events: list[Mapping[str, Any]]) -> str:
    """The AMI version an Asterisk that sent ``events`` would announce."""
    if any("Linkedid" in event for event in events):
        return AMI_VERSION
    if any(event.get("Event") in AMI1_ONLY for event in events):
        return AMI1_VERSION
    return AMI_VERSION


__all__ = ["AMI1_VERSION", "AMI_VERSION", "ami_version_of", "AmiAction", "EOL", "EventSource", "format_block", "get_field", "load_events"]

"""Recording and machine-readable reporters.

* ``JsonReporter`` (= ``JsonFileReporter``) records every raw AMI event to
  a JSON list file, the format FileRunner replays. The file is valid JSON
  after ``close()`` (and is written so that a crash leaves at most the last
  event unterminated).
* ``JsonLinesReporter`` prints each call event as one JSON object per line.
"""
from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from ..calls import CallEvent
from .base import BaseReporter


def _plain(event: Any) -> dict[str, Any]:
    """The event as Asterisk sent it: panoramisk's empty ``content`` key dropped."""
    out: dict[str, Any] = {}
    for key, value in dict(event).items():
        if key == "content" and not value:
            continue
        out[str(key)] = list(value) if isinstance(value, (list, tuple)) else value
    return out


class JsonReporter(BaseReporter):
    """Records every AMI event it sees to a JSON list file.

    Args:
        filename: the file to write (created or truncated).
        pretty: one event per line (default) so the file diffs well.
    """

    def __init__(self, filename: str) -> None:
        self._filename = filename
        self._file: TextIO | None = open(filename, "w", encoding="utf-8")
        self._file.write("[")
        self._count = 0

    def trace_ami(self, event: Any) -> None:
        if self._file is None:
            return
        prefix = "\n" if self._count == 0 else ",\n"
        self._file.write(prefix + json.dumps(_plain(event), sort_keys=True))
        self._count += 1

    def close(self) -> None:
        """Finish the JSON list; safe to call more than once."""
        if self._file is None:
            return
        self._file.write("\n]\n")
        self._file.close()
        self._file = None


JsonFileReporter = JsonReporter


class JsonLinesReporter(BaseReporter):
    """Writes each call event as one JSON object per line (``--format jsonl``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def on_call_event(self, record: CallEvent) -> None:
        stream = self._stream or sys.stdout
        stream.write(json.dumps(record.as_dict(), sort_keys=True, default=str) + "\n")

    def close(self) -> None:
        (self._stream or sys.stdout).flush()

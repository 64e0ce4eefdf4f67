"""DebugReporter: timestamped lines on stdout for trace messages and call events."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..calls import CallEvent, ColdTransfer, hook_of
from .base import BaseReporter


def describe(record: CallEvent) -> str:
    """One human-readable line for a call event."""
    hook = hook_of(record).removeprefix("on_")
    parts = [f"{hook:<16}", record.call_id or "-"]
    for name in ("merged_id", "redirector", "caller", "to_number", "callee", "destination",
                 "targets", "reason", "name",
                 # the state hooks' arguments
                 "holder", "parked", "parker", "lot", "space", "retriever", "queue",
                 "position", "party", "room"):
        value = getattr(record, name, None)
        if value in (None, "", ()):
            continue
        if name == "targets":
            value = "[" + ", ".join(str(t) for t in value) + "]"
        parts.append(f"{name}={value}")
    if isinstance(record, ColdTransfer) and record.kind:
        parts.append(f"kind={record.kind}")
    return " ".join(str(p) for p in parts)


class DebugReporter(BaseReporter):
    """Prints trace messages and call events, one timestamped line each.

    Args:
        stream: where to write (stdout by default).
        show_ami: also print every AMI event (very verbose).
    """

    def __init__(self, stream: TextIO | None = None, show_ami: bool = False) -> None:
        self._stream = stream
        self._show_ami = show_ami

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        stream.write(f"{stamp} {text}\n")

    def trace_ami(self, event: Any) -> None:
        if self._show_ami:
            self._write(f"AMI {dict(event)!r}")

    def trace_msg(self, msg: str) -> None:
        self._write(f"TRACE {msg}")

    def on_call_event(self, record: CallEvent) -> None:
        self._write(describe(record))

    def close(self) -> None:
        (self._stream or sys.stdout).flush()

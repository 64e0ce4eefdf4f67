"""The publisher's waiting room: a bounded memory buffer, then an append-only spill file.

Why: publishing must never block the AMI read loop, and while NATS is
unreachable records have to wait somewhere. Memory is bounded
(``capacity``); past it, records are appended to a local JSON-lines file
(when one is configured) so nothing is lost, even across a restart: a new
publisher sends what the file holds first. Without a file, a record that
does not fit is counted as overflow and logged, never silently dropped.

A message with a deadline (a cluster worker's lease) never goes to the
file: it could only be sent after its lease, so past the memory it counts
as overflow, and at shutdown as ``unspillable``.

Order is kept: once a record went to the file, later ones go there too
until the file has been read back whole, and the file is read before
anything newer. Thread-safe: the tracker's thread adds, the publisher's
thread takes.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from pathlib import Path
from typing import IO

from ..errors import ConfigurationError
from .subjects import Message

log = logging.getLogger(__name__)


class Spool:
    """Bounded FIFO of messages with an optional spill file.

    Args:
        capacity: messages kept in memory.
        spill_path: the append-only file for what does not fit (None: count
            and drop).
    """

    def __init__(self, capacity: int = 10_000, spill_path: str | Path | None = None) -> None:
        if capacity < 1:
            raise ConfigurationError(f"buffer size must be at least 1, not {capacity}")
        self.capacity = capacity
        self.spill_path = Path(spill_path) if spill_path else None
        self._lock = threading.Lock()
        self._memory: deque[Message] = deque()
        self._writer: IO[str] | None = None
        self._reader: IO[str] | None = None
        self._spilled_pending = 0   #: lines in the file not read back yet
        self._next_from_file: Message | None = None
        self.overflowed = 0         #: messages dropped: memory full and no file
        self.spilled = 0            #: messages written to the file, ever
        #: lease-bound messages (``Message.deadline``) not written to the file
        #: at shutdown: a later process cannot hold the lease they need
        self.unspillable = 0
        if self.spill_path is not None:
            self._open_file()

    def _open_file(self) -> None:
        assert self.spill_path is not None  # noqa: S101 - checked by the caller
        try:
            self.spill_path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self.spill_path.open("a", encoding="utf-8")
            self._reader = self.spill_path.open("r", encoding="utf-8")
        except OSError as err:
            raise ConfigurationError(
                f"cannot open spill file {self.spill_path}: {err.strerror or err}; give a "
                "writable path") from None
        with self.spill_path.open("r", encoding="utf-8") as existing:
            self._spilled_pending = sum(1 for line in existing if line.strip())
        if self._spilled_pending:
            log.info("spill file %s holds %d messages from an earlier run; they go first",
                     self.spill_path, self._spilled_pending)

    # -- the producer's side ------------------------------------------------------

    def put(self, message: Message) -> bool:
        """Add a message; False when it was dropped (memory full, no file)."""
        with self._lock:
            if (not self._spilled_pending and self._next_from_file is None
                    and len(self._memory) < self.capacity):
                self._memory.append(message)
                return True
            if self._writer is not None and message.deadline is None:
                self._writer.write(json.dumps(message.as_json()) + "\n")
                self._writer.flush()
                self._spilled_pending += 1
                self.spilled += 1
                return True
            self.overflowed += 1
        if self.overflowed == 1 or self.overflowed % 1000 == 0:
            log.error("publish buffer full (%d messages) and no spill file: %d messages "
                      "dropped so far", self.capacity, self.overflowed)
        return False

    # -- the publisher's side -----------------------------------------------------

    def peek(self) -> Message | None:
        """The next message to send, without taking it: memory, then file."""
        with self._lock:
            if self._memory:
                return self._memory[0]
            return self._peek_file()

    def _peek_file(self) -> Message | None:
        if self._next_from_file is not None:
            return self._next_from_file
        while self._spilled_pending and self._reader is not None:
            line = self._reader.readline()
            if not line:
                self._spilled_pending = 0
                break
            if not line.strip():
                continue
            self._spilled_pending -= 1
            try:
                self._next_from_file = Message.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as err:
                log.error("spill file %s: skipping an unreadable line (%s)", self.spill_path, err)
                continue
            return self._next_from_file
        self._truncate_if_read()
        return None

    def take(self, message: Message) -> None:
        """Remove ``message``, which ``peek`` returned."""
        with self._lock:
            if self._memory and self._memory[0] is message:
                self._memory.popleft()
            elif self._next_from_file is message:
                self._next_from_file = None
                if not self._spilled_pending:
                    self._truncate_if_read()

    def _truncate_if_read(self) -> None:
        """Everything in the file was read back: start it afresh (keeps it small)."""
        if self._writer is None or self._spilled_pending or self._next_from_file is not None:
            return
        if self._reader is not None and self._reader.tell() == 0:
            return
        self._writer.truncate(0)
        self._writer.seek(0)
        if self._reader is not None:
            self._reader.seek(0)

    def spill_all(self, unacked: list[Message]) -> int:
        """At shutdown: write what is still waiting to the file so a restart sends it.

        Returns:
            how many messages could not be kept (no file): they are lost.
        """
        with self._lock:
            waiting = [m for m in (*unacked, *self._memory) if m.deadline is None]
            self.unspillable += len(unacked) + len(self._memory) - len(waiting)
            self._memory.clear()
            if not waiting:
                return 0
            if self._writer is None:
                return len(waiting)
            # the file's unread part must stay after the older waiting messages
            rest = [self._next_from_file] if self._next_from_file is not None else []
            self._next_from_file = None
            if self._reader is not None:
                rest.extend(Message.from_json(json.loads(line))
                            for line in self._reader.readlines() if line.strip())
            self._writer.truncate(0)
            self._writer.seek(0)
            for message in [*waiting, *rest]:
                self._writer.write(json.dumps(message.as_json()) + "\n")
            self._writer.flush()
            os.fsync(self._writer.fileno())
            self.spilled += len(waiting)
            self._spilled_pending = len(waiting) + len(rest)
            return 0

    def close(self) -> None:
        """Close the file handles."""
        with self._lock:
            for handle in (self._writer, self._reader):
                if handle is not None:
                    handle.close()
            self._writer = self._reader = None

    # -- figures ---------------------------------------------------------------------

    @property
    def in_memory(self) -> int:
        """Messages waiting in memory."""
        return len(self._memory)

    @property
    def in_file(self) -> int:
        """Messages waiting in the spill file."""
        return self._spilled_pending + (self._next_from_file is not None)

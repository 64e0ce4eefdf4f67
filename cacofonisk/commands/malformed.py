"""Malformed AMI events, made visible on the command line.

The library only logs a malformed event (a WARNING record carrying the
``MalformedEvent``) and drops it: a long-running service must not stop
for one bad event. On the command line the logging threshold is ERROR
unless ``-v`` is given, so without this a damaged log replayed silently
with exit status 0, as if it were clean. ``MalformedEvents`` watches the
library's loggers for those records and prints one warning line per event
(the first ``limit``) on stderr; the command then says how many there were
and exits non-zero.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..errors import MalformedEvent

#: The logger that reports events the manager had to drop.
MANAGER_LOG = "cacofonisk.manager"


class MalformedEvents(logging.Filter):
    """A filter on the manager's logger that counts (and prints) malformed events.

    Records other than malformed events pass only at the level the logger
    had before (the ``-v`` setting), so nothing else gets louder.

    Args:
        command: the sub-command's name, for the prefix of each line.
        where: gives the current input's name (a file), or '' when none.
        limit: how many events to print one by one.
        stream: where to print (stderr).
    """

    def __init__(self, command: str, where: Callable[[], str] = lambda: "",
                 limit: int = 10, stream: TextIO | None = None) -> None:
        super().__init__()
        self.command = command
        self.where = where
        self.limit = limit
        self.stream = stream
        self.count = 0
        self._logger = logging.getLogger(MANAGER_LOG)
        self._threshold = self._logger.getEffectiveLevel()
        self._level = self._logger.level

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], MalformedEvent):
            self.note(str(args[0]), self.where())
        return record.levelno >= self._threshold

    def note(self, problem: str, where: str = "") -> None:
        """Count one malformed event; print it while under ``limit``."""
        self.count += 1
        if self.count <= self.limit:
            place = f"{where}: " if where else ""
            print(f"cacofonisk {self.command}: warning: {place}{problem}",
                  file=self.stream or sys.stderr)

    def __enter__(self) -> MalformedEvents:
        self._logger.addFilter(self)
        self._logger.setLevel(min(self._threshold, logging.WARNING))
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeFilter(self)
        self._logger.setLevel(self._level)

    def summary(self) -> str:
        """One line saying how many events were dropped ('' when none)."""
        if not self.count:
            return ""
        more = f" ({self.count - self.limit} not shown)" if self.count > self.limit else ""
        return (f"cacofonisk {self.command}: {self.count} malformed event(s) ignored{more}; "
                f"exit status 1")


__all__ = ["MANAGER_LOG", "MalformedEvents"]

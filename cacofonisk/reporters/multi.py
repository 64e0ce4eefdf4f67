"""MultiReporter: fan every hook out to several reporters.

A reporter that raises does not stop the others: the error is logged and
the next reporter still gets the call.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..calls import CallEvent
from .base import BaseReporter, deliver

log = logging.getLogger(__name__)


class MultiReporter(BaseReporter):
    """Sends everything to each of ``reporters``, in order."""

    def __init__(self, reporters: Iterable[Any]) -> None:
        self.reporters = list(reporters)

    def _each(self, hook: str, *args: Any) -> None:
        for reporter in self.reporters:
            method = getattr(reporter, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception:
                self._raised(reporter, hook)

    def trace_ami(self, event: Any) -> None:
        self._each("trace_ami", event)

    def trace_msg(self, msg: str) -> None:
        self._each("trace_msg", msg)

    def on_event(self, event: Any) -> None:
        self._each("on_event", event)

    def close(self) -> None:
        self._each("close")

    def on_call_event(self, record: CallEvent) -> None:
        for reporter in self.reporters:
            try:
                deliver(reporter, record)
            except Exception:
                self._raised(reporter, record.HOOK)

    def _raised(self, reporter: Any, hook: str) -> None:
        """One reporter's hook raised (called inside the ``except``): log it.

        A subclass may count it too (the live view's ``CountingReporter``).
        """
        log.exception("reporter %r hook %s raised", reporter, hook)

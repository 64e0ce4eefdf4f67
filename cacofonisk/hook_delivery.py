"""How a ChannelManager hands its output to the reporter, and what a raising hook does.

The manager's hooks run only once an AMI event has been fully applied: its
trace messages and call events wait in the tracker (``traces``,
``outbox``) and ``HookDelivery._drain`` hands them over. A hook that raises
never stops the manager: it is logged, reported through ``trace_msg`` and
counted (``hook_errors``); the other hooks still run. With ``strict=True``
(tests) the first such exception is kept and re-raised, unchanged, by
``_raise_hook_error`` once every hook of the event ran, so a test with a
broken reporter fails and the manager stays consistent.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from ._mypyc import mypyc_attr
from .reporters.base import BaseReporter, deliver
from .tracker import Tracker

log = logging.getLogger(__name__)


@mypyc_attr(allow_interpreted_subclasses=True)
class HookDelivery:
    """The reporter side of ``ChannelManager`` (its base class).

    Attributes (set by ``ChannelManager.__init__``):
        strict: re-raise hook exceptions (see the module docstring).
        _reporter: the reporter.
        _tracker: the tracker whose ``traces``/``outbox`` are drained and
            whose ``counters`` count hook errors.
        _hook_error: strict: the first exception a hook raised, not yet re-raised.
    """

    strict: bool
    _reporter: Any
    _tracker: Tracker
    _hook_error: Exception | None

    def _drain(self) -> None:
        tracker = self._tracker
        while tracker.traces or tracker.outbox:
            traces, tracker.traces = tracker.traces, []
            for msg in traces:
                self._safe_hook("trace_msg", msg)
            outbox, tracker.outbox = tracker.outbox, []
            reporter = self._reporter
            for _call, record in outbox:
                try:
                    deliver(reporter, record)
                except Exception as err:
                    log.exception("reporter raised on %s", record.HOOK)
                    self._note_hook_error(err)
                    self._safe_hook("trace_msg", f"reporter raised on {record.HOOK}; see the log")

    def _safe_hook(self, hook: str, *args: Any) -> None:
        method = getattr(self._reporter, hook, None)
        if method is not None:
            self._call(hook, method, *args)

    def _call(self, hook: str, method: Any, *args: Any) -> None:
        """Call the reporter's ``hook`` (bound as ``method``); log and count what it raises."""
        try:
            method(*args)
        except Exception:  # noqa: BLE001 - logged by _hook_raised; a reporter bug must not stop us
            self._hook_raised(hook)

    def _hook_raised(self, hook: str) -> None:
        """Log the reporter hook that just raised; say so through trace_msg (unless it was that)."""
        log.exception("reporter hook %s raised", hook)
        err = sys.exc_info()[1]
        if isinstance(err, Exception):
            self._note_hook_error(err)
        if hook != "trace_msg":
            self._safe_hook("trace_msg", f"reporter hook {hook} raised; see the log")

    def _note_hook_error(self, err: Exception) -> None:
        """Count a hook's exception; in strict mode keep the first to re-raise."""
        self._tracker.counters["hook_errors"] += 1
        if self.strict and self._hook_error is None:
            self._hook_error = err

    def _raise_hook_error(self) -> None:
        """strict: re-raise the first hook exception, now that every hook of the event ran."""
        err, self._hook_error = self._hook_error, None
        if err is not None:
            raise err


_BASE_NO_OPS = {BaseReporter.trace_ami, BaseReporter.on_event}


def overridden(reporter: Any, hook: str) -> bool:
    """Whether the reporter has its own ``hook`` (not BaseReporter's no-op).

    A duck-typed reporter may provide hooks through ``__getattr__``.
    """
    method = getattr(type(reporter), hook, None)
    if method is None:
        return getattr(reporter, hook, None) is not None
    return method not in _BASE_NO_OPS

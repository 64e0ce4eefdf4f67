"""The reporters that feed the live view from the managers.

``LiveReporter`` takes every call-event record whole (``on_call_event``):
it publishes the record's JSON to the event feed (``GET /events``), files
it under its call (the path view) and counts it; ``on_event`` counts AMI
events for the events/s figure. It does a few appends per event and never
awaits, so it cannot slow the AMI read loop.

``CountingReporter`` is the fan-out to use when the live view sits beside
the user's own reporter: a MultiReporter of its own that also counts the
hooks that raised (``cacofonisk_hook_errors_total``), since a reporter's exception is
logged and swallowed and would otherwise leave no trace on a dashboard.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..calls import CallEvent, hook_of
from ..reporters.base import BaseReporter
from ..reporters.multi import MultiReporter
from .feed import EventFeed
from .history import CallHistories
from .metrics import Counters

log = logging.getLogger(__name__)


class LiveReporter(BaseReporter):
    """Publishes call events to the live view (feed, call histories, counters)."""

    #: its ``on_event`` counts the events the tracker applies: the runners may
    #: keep skipping the others by name (``reporters.base.sees_raw_events``)
    wants_every_event = False

    def __init__(self, feed: EventFeed, histories: CallHistories, counters: Counters) -> None:
        self.feed = feed
        self.histories = histories
        self.counters = counters

    def on_event(self, event: Any) -> None:
        """Count one applied AMI event."""
        self.counters.count_ami_event()

    def on_call_event(self, record: CallEvent) -> None:
        """Publish, file and count one call event."""
        hook = hook_of(record)
        payload = record.as_dict()
        payload["event"] = hook
        self.feed.publish(payload)
        self.histories.add(record)
        self.counters.count_call_event(record.server, hook)


class CountingReporter(MultiReporter):
    """Fans every hook out to ``reporters`` in order, like MultiReporter, and
    counts the hooks that raised (the others still run).

    Args:
        reporters: the reporters, in order (the user's first).
        counters: where ``hook_errors`` is counted.
    """

    def __init__(self, reporters: Iterable[Any], counters: Counters) -> None:
        super().__init__(reporters)
        self.counters = counters

    def _raised(self, reporter: Any, hook: str) -> None:
        self.counters.hook_errors += 1
        super()._raised(reporter, hook)

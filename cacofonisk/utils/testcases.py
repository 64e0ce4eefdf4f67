"""Test helpers of the 2017 README: BaseTestCase and SilentReporter.

Example::

    from cacofonisk.utils.testcases import BaseTestCase, SilentReporter
    from cacofonisk import ChannelManager

    class MyTest(BaseTestCase):
        def test_call(self):
            events = self.load_events_from_disk('fixtures/call.json')
            reporter = MyReporter()
            manager = self.channel_manager(reporter)
            for event in events:
                manager.on_event(event)

``channel_manager`` gives a strict manager: an exception in the reporter's
own hooks (or a bug in cacofonisk) fails the test, instead of being only
logged as it is in production. ``ChannelManager(reporter=..., strict=True)``
does the same.
"""
from __future__ import annotations

import os
from typing import Any
from unittest import TestCase

from ..manager import ChannelManager
from ..reporters.base import SilentReporter
from ..runners.file_runner import load_events

__all__ = ["BaseTestCase", "SilentReporter"]


class BaseTestCase(TestCase):
    """A unittest TestCase that reads JSON event logs."""

    def channel_manager(self, reporter: Any, **options: Any) -> ChannelManager:
        """A ``ChannelManager(strict=True)`` for ``reporter``: a raising hook fails the test.

        Args:
            reporter: the reporter under test.
            options: more ChannelManager keyword arguments (server, dialect ...).
        """
        return ChannelManager(reporter=reporter, **{"strict": True, **options})

    def load_events_from_disk(self, filename: str | os.PathLike[str]) -> list[Any]:
        """Read a JSON event log (a path, relative to the current directory)."""
        return load_events(filename)

    def open_file(self, filename: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
        """Open a file (relative to the current directory), as the 2017 helper did."""
        return open(filename, *args, **kwargs)

"""FileRunner: replay recorded JSON event logs through fresh ChannelManagers.

Each file is a JSON list of AMI event objects (as JsonReporter records
them). orjson is used to parse when installed (``pip install
cacofonisk[fast]``), else the standard json module.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigurationError
from ..events import event_name
from ..manager import ChannelManager
from ..reporters.base import sees_raw_events


def _fast_json_loads() -> Callable[[bytes], Any] | None:
    """orjson's loads when installed (``pip install cacofonisk[fast]``), else None."""
    try:
        return importlib.import_module("orjson").loads  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - depends on the environment
        return None


_FAST_LOADS = _fast_json_loads()


def load_events(filename: str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    """Read one JSON event log.

    Raises:
        ConfigurationError: the file is missing, not JSON, or not a list of objects.
    """
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise ConfigurationError(f"cannot read event log {filename}: {err.strerror}") from err
    try:
        events = _FAST_LOADS(data) if _FAST_LOADS is not None else json.loads(data)
    except ValueError as err:
        raise ConfigurationError(f"{filename} is not valid JSON: {err}") from err
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ConfigurationError(f"{filename} is not a JSON list of AMI event objects")
    return events


class FileRunner:
    """Replays event logs.

    Args:
        files: a path or a list of paths to JSON event logs.
        reporter: receives the hooks; ``close()`` is called once at the end.
        channel_manager_class: the manager to build per file.
    """

    def __init__(self, files: str | os.PathLike[str] | list[str | os.PathLike[str]],
                 reporter: Any, channel_manager_class: type = ChannelManager) -> None:
        if isinstance(files, (str, os.PathLike)):
            self.files: list[str | os.PathLike[str]] = [files]
        elif isinstance(files, (list, tuple)):
            self.files = list(files)
        else:
            raise TypeError("files must be a path or a list of paths")
        self.reporter = reporter
        self.channel_manager_class = channel_manager_class
        self.channel_managers: list[Any] = []
        #: The file being replayed (None before ``run()``): reporters that
        #: label their output per file read it.
        self.current_file: str | os.PathLike[str] | None = None

    def run(self) -> None:
        """Replay every file, then close the reporter once.

        Events no rule consumes are skipped by name before the manager sees
        them (a third of a typical log), unless the reporter looks at the
        raw events (``trace_ami`` or ``on_event`` of its own, as
        ``JsonReporter`` and ``MultiReporter`` have): a recording made while
        replaying must hold every event of the stream, not only those the
        tracker uses.
        """
        try:
            for filename in self.files:
                self.current_file = filename
                events = load_events(filename)
                # A log of a million events is a million dicts that Python's
                # cycle collector would scan again and again while the replay
                # allocates; they hold no cycles, so park them out of its way.
                gc.freeze()
                manager = self.channel_manager_class(reporter=self.reporter)
                self.channel_managers.append(manager)
                on_event = manager.on_event
                interesting = manager.INTERESTING_EVENTS
                if "*" in interesting or sees_raw_events(self.reporter):
                    for event in events:
                        on_event(event)
                else:
                    for event in events:
                        if event_name(event) in interesting:
                            on_event(event)
                _flush(manager)
        finally:
            gc.unfreeze()
            self.reporter.close()


def _flush(manager: Any) -> None:
    """End of a file: let the manager report what it held back (2017 subclasses may lack it)."""
    flush = getattr(manager, "flush", None)
    if flush is not None:
        flush()


JsonFileRunner = FileRunner

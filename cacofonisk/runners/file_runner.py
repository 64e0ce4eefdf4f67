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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import ConfigurationError
from ..events import event_name
from ..manager import ChannelManager

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

    def _events(self) -> Iterator[tuple[Any, Mapping[str, Any]]]:
        for filename in self.files:
            events = load_events(filename)
            # A log of a million events is a million dicts that Python's
            # cycle collector would scan again and again while the replay
            # allocates; they hold no cycles, so park them out of its way.
            gc.freeze()
            manager = self.channel_manager_class(reporter=self.reporter)
            self.channel_managers.append(manager)
            interesting = manager.INTERESTING_EVENTS
            everything = "*" in interesting
            for event in events:
                if everything or event_name(event) in interesting:
                    yield manager, event

    def run(self) -> None:
        """Replay every file, then close the reporter once."""
        try:
            previous = None
            for manager, event in self._events():
                if manager is not previous:
                    _flush(previous)
                    previous = manager
                manager.on_event(event)
            _flush(previous)
        finally:
            gc.unfreeze()
            self.reporter.close()


def _flush(manager: Any) -> None:
    """End of a file: let the manager report what it held back (2017 subclasses may lack it)."""
    flush = getattr(manager, "flush", None)
    if flush is not None:
        flush()


JsonFileRunner = FileRunner

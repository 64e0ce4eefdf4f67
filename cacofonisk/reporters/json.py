"""Recording and machine-readable reporters.

* ``JsonReporter`` (= ``JsonFileReporter``) records every raw AMI event to
  a JSON list file, the format FileRunner replays.
* ``JsonLinesReporter`` prints each call event as one JSON object per line.

Why a recording is written beside its target and renamed at ``close()``:
opening the target for writing would truncate it at once, so a recording
aimed (by mistake) at a log being replayed, or a run killed half-way, would
destroy a good file. Until ``close()`` the events go to a hidden
``.NAME.*.partial`` file in the same folder (one event per line, flushed
as it goes, so a crash leaves every event but the closing bracket there);
``close()`` finishes the list and renames it over ``NAME`` in one step.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from ..calls import CallEvent
from ..errors import ConfigurationError
from .base import BaseReporter


def _plain(event: Any) -> dict[str, Any]:
    """The event as Asterisk sent it: panoramisk's empty ``content`` key dropped."""
    out: dict[str, Any] = {}
    for key, value in dict(event).items():
        if key == "content" and not value:
            continue
        out[str(key)] = list(value) if isinstance(value, (list, tuple)) else value
    return out


def _umask() -> int:
    """The process umask (read by setting it, then putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def open_partial(filename: str | os.PathLike[str]) -> tuple[TextIO, Path]:
    """A new hidden file beside ``filename`` to write it through, and its path.

    Its permissions are those a plain ``open(filename, "w")`` would give
    (mkstemp's 0600 would surprise whoever reads the recording later).

    Raises:
        ConfigurationError: the folder is missing or cannot be written; the
            message names the path and what to do.
    """
    target = Path(filename)
    folder = target.parent
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=folder)
    except OSError as err:
        why = err.strerror or str(err)
        raise ConfigurationError(
            f"cannot write {filename}: {why} (folder {folder}; choose a path in an "
            f"existing folder you may write to)") from None
    os.chmod(temp, 0o666 & ~_umask())
    return os.fdopen(handle, "w", encoding="utf-8"), Path(temp)


class JsonReporter(BaseReporter):
    """Records every AMI event it sees (``trace_ami``) to a JSON list file.

    The file appears, complete, at ``close()``; until then it is written to
    a hidden ``.NAME.*.partial`` file beside it (see the module docstring),
    so an existing ``NAME`` is replaced only by a complete recording.
    One event per line, keys sorted, so recordings diff well.

    Args:
        filename: the file to write (replaced at ``close()`` if it exists).

    Raises:
        ConfigurationError: the file's folder is missing or not writable.
    """

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        self._filename = Path(filename)
        self._file: TextIO | None
        self._file, self._partial = open_partial(filename)
        self._file.write("[")
        self._count = 0

    @property
    def partial_path(self) -> Path:
        """Where the events go until ``close()``."""
        return self._partial

    def trace_ami(self, event: Any) -> None:
        if self._file is None:
            return
        prefix = "\n" if self._count == 0 else ",\n"
        self._file.write(prefix + json.dumps(_plain(event), sort_keys=True))
        self._count += 1

    def close(self) -> None:
        """Finish the JSON list and move it into place; safe to call more than once."""
        if self._file is None:
            return
        self._file.write("\n]\n")
        self._file.close()
        self._file = None
        os.replace(self._partial, self._filename)


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

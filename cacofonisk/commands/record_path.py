"""Checks of a ``--record FILE`` path, shared by ``replay``, ``listen`` and ``demo``.

Why a check of its own: a recording aimed at one of the command's own input
files (the same path, a symbolic link to it, or a hard link of it) would
replace the user's log with a new one; refusing it up front, with one line
that says what to do, costs nothing. That the folder can be written is
checked by ``JsonReporter`` itself when it opens its partial file.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigurationError


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: equal once resolved, or one inode
    (a hard link); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def check_record_path(record: str, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse a ``--record`` path that is one of the command's input files.

    Raises:
        ConfigurationError: ``record`` is (or links to) an input file, or is a folder.
    """
    for source in inputs:
        if same_file(record, source):
            raise ConfigurationError(
                f"--record {record} is the input file {source}: recording over it would "
                f"destroy it; record to another file")
    if Path(record).is_dir():
        raise ConfigurationError(f"--record {record} is a folder; give a file name")


__all__ = ["check_record_path", "same_file"]

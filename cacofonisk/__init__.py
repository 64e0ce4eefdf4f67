"""cacofonisk: follow Asterisk calls through AMI and report what happens to them.

The names below are the public contract; docs/api.md of the repository (the
API reference: every hook, its arguments, when it fires) documents them,
and ``help(cacofonisk.BaseReporter)`` lists the hooks. Everything else is
reachable through its own module.

The library logs through the ``cacofonisk`` logger and adds no handler of
its own but a ``NullHandler``: a program that configures no logging sees
nothing (not Python's "last resort" stderr output), and one that does
decides where the records go.
"""
import logging

from .callerid import CallerId
from .manager import ChannelManager
from .reporters import (BaseReporter, DebugReporter, JsonFileReporter, JsonReporter,
                        MultiReporter)
from .runners.file_runner import FileRunner, JsonFileRunner

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> object:
    # AmiRunner pulls in panoramisk/asyncio: import it only when asked for.
    if name == "AmiRunner":
        from .runners.ami_runner import AmiRunner
        return AmiRunner
    raise AttributeError(f"module 'cacofonisk' has no attribute {name!r}")


__all__ = ["AmiRunner", "BaseReporter", "CallerId", "ChannelManager", "DebugReporter",
           "FileRunner", "JsonFileReporter", "JsonFileRunner", "JsonReporter",
           "MultiReporter"]
__version__ = "1.0.0.dev0"

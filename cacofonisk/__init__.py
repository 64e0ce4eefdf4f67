"""cacofonisk: follow Asterisk calls through AMI and report what happens to them.

The names below are the public contract (see API.md); everything else is
reachable through its own module.
"""
from .callerid import CallerId
from .manager import ChannelManager
from .reporters import BaseReporter, DebugReporter, JsonFileReporter, JsonReporter
from .runners.file_runner import FileRunner, JsonFileRunner


def __getattr__(name: str) -> object:
    # AmiRunner pulls in panoramisk/asyncio: import it only when asked for.
    if name == "AmiRunner":
        from .runners.ami_runner import AmiRunner
        return AmiRunner
    raise AttributeError(f"module 'cacofonisk' has no attribute {name!r}")


__all__ = ["AmiRunner", "BaseReporter", "CallerId", "ChannelManager", "DebugReporter",
           "FileRunner", "JsonFileReporter", "JsonFileRunner", "JsonReporter"]
__version__ = "1.0.0.dev0"

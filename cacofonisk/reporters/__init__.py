"""Reporters: where call events go (see base.BaseReporter for the hooks)."""
from .base import BaseReporter, Reporter, SilentReporter
from .debug import DebugReporter
from .json import JsonFileReporter, JsonLinesReporter, JsonReporter
from .multi import MultiReporter

__all__ = ["BaseReporter", "DebugReporter", "JsonFileReporter", "JsonLinesReporter",
           "JsonReporter", "MultiReporter", "Reporter", "SilentReporter"]

"""Where the live view reads "what is happening now": the managers themselves.

Why a separate object: the web app must not care whether it is fed by an
``AmiRunner`` (several servers, health figures), a ``FileRunner`` or a
bare list of ``ChannelManager``s in a user's own program. ``LiveSource``
asks them for their ``snapshot()`` each time, so the view can never
disagree with the machines that report the events.

A manager without ``snapshot()`` (a 2017-style subclass, or a build that
predates it) still shows its calls: one ``CallSnapshot`` per call in
flight with its machine state, the rest filled in from the call events
the web reporter saw for it (caller, number, targets, answerer).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..calls import BDial, BDialEnd, Up
from ..callerid import CallerId
from ..snapshot import CallSnapshot
from .history import CallHistories

Health = Mapping[str, Mapping[str, Any]]


class LiveSource:
    """The managers (and optionally a health callable) the view reads from.

    Args:
        managers: the ChannelManagers, one per server.
        health: per-server health figures (``AmiRunner.health``); None: none.
        histories: the web reporter's call histories (for the fallback).
        snapshot: a callable giving every server's snapshot at once
            (``AmiRunner.snapshot``); by default each manager is asked.
    """

    def __init__(self, managers: Sequence[Any],
                 health: Callable[[], Health] | None = None,
                 histories: CallHistories | None = None,
                 snapshot: Callable[[], Sequence[CallSnapshot]] | None = None) -> None:
        self.managers = list(managers)
        self._health = health
        self._snapshot = snapshot
        self.histories = histories

    @classmethod
    def for_runner(cls, runner: Any, histories: CallHistories | None = None) -> LiveSource:
        """Read from an AmiRunner (or any runner with ``channel_managers``).

        Each manager is asked itself (not ``AmiRunner.snapshot()``), so a
        manager without ``snapshot()`` still shows its calls (the fallback).
        """
        health = getattr(runner, "health", None)
        return cls(runner.channel_managers, health if callable(health) else None, histories)

    def servers(self) -> list[str]:
        """The server names, in the managers' order."""
        return [str(getattr(m, "server", "")) for m in self.managers]

    def health(self) -> dict[str, dict[str, Any]]:
        """Per-server health figures ({} without a health callable)."""
        if self._health is None:
            return {}
        return {name: dict(figures) for name, figures in self._health().items()}

    def snapshot(self) -> list[CallSnapshot]:
        """Every call in flight on every server."""
        if self._snapshot is not None:
            return list(self._snapshot())
        calls: list[CallSnapshot] = []
        for manager in self.managers:
            calls.extend(self.manager_snapshot(manager))
        return calls

    def manager_snapshot(self, manager: Any) -> list[CallSnapshot]:
        """One manager's calls: its ``snapshot()``, else the fallback."""
        take = getattr(manager, "snapshot", None)
        if callable(take):
            return list(take())
        server = str(getattr(manager, "server", ""))
        return [self._from_history(server, call) for call in getattr(manager, "calls", ())]

    def live_path(self, server: str, call_id: str) -> list[str] | None:
        """The path of a call in flight straight from its machine (``Call.path``)."""
        for manager in self.managers:
            if str(getattr(manager, "server", "")) != server:
                continue
            for call in getattr(manager, "calls", ()):
                if getattr(call, "call_id", None) == call_id:
                    return list(getattr(call, "path", ()))
        return None

    def _from_history(self, server: str, call: Any) -> CallSnapshot:
        state = getattr(call.state, "value", str(call.state))
        fields: dict[str, Any] = {"caller": CallerId()}
        trace = self.histories.get(server, call.call_id) if self.histories else None
        for record in trace.records if trace is not None else ():
            if fields.get("began") is None:
                fields["began"] = record.timestamp
            caller = getattr(record, "caller", None)
            if isinstance(caller, CallerId):
                fields["caller"] = caller
                fields["to_number"] = getattr(record, "to_number", None)
            if isinstance(record, (BDial, BDialEnd, Up)):
                fields["state_since"] = record.timestamp
            if isinstance(record, BDial):
                fields["targets"] = record.targets
            elif isinstance(record, Up):
                fields["callee"], fields["targets"] = record.callee, ()
        return CallSnapshot(call_id=call.call_id, server=server, state=str(state), **fields)

"""Resync after a reconnect: hold live events, read Asterisk's lists, release.

Why a module of its own: the order in which things reach the manager after
a reconnect is the delicate part of the live runner. Live events are held
back while Asterisk's channel list is read (CoreShowChannels); a UserEvent
barrier marks the end of the answers; then the manager resyncs and the
held events follow in order. Events that arrived before Asterisk
began answering go first, since the list already reflects them. Parks
(``ParkedCalls``), queue waiters (``QueueStatus``) and conference members
(``ConfbridgeListRooms``/``ConfbridgeList``) are read too, where Asterisk
allows. The answers and the barrier reach the manager as AMI events (so a
recording holds them); the pure work (what the tracker makes of them) is
``cacofonisk.resync``; this module only does the AMI side.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk.actions import Action

from cacofonisk.resync import BARRIER_PREFIX

log = logging.getLogger(__name__)

#: Sends an action and returns its reply (the link's ``_request``).
Request = Callable[[Mapping[str, str] | Action], Awaitable[Any]]


class _SnapshotAction(Action):  # type: ignore[misc]  # untyped library
    """CoreShowChannels that notes where its first answer falls among events."""

    def __init__(self, headers: Mapping[str, str], on_first: Callable[[], None]) -> None:
        super().__init__(dict(headers))
        self._on_first = on_first

    def add_message(self, message: Any) -> Any:
        if not self.responses:
            self._on_first()
        return super().add_message(message)


class Resync:
    """The hold/resync/release cycle of one server's connection.

    Args:
        name: the server's name, for log messages.
        deliver: hands one event to the manager (never raises).
        action_timeout: how long to wait for the barrier to come back.
    """

    def __init__(self, name: str, deliver: Callable[[Any], None],
                 action_timeout: float) -> None:
        self.name = name
        self._deliver = deliver
        self._action_timeout = action_timeout
        self._held: list[Any] | None = None
        self._split: int | None = None
        self._barrier = ""
        self._barrier_seen: asyncio.Future[Any] | None = None
        self._refused: set[str] = set()

    @property
    def holding(self) -> bool:
        """True while live events are held back for a resync."""
        return self._held is not None

    def start(self) -> None:
        """Begin holding live events (before the login, so none slips by)."""
        self._held, self._split = [], None

    def hold(self, message: Any) -> bool:
        """Keep ``message`` back if a resync is under way; True if kept."""
        if self._held is None:
            return False
        self._held.append(message)
        return True

    def is_barrier(self, message: Any) -> bool:
        """True for any runner's barrier UserEvent (never the dialplan's);
        notes when ours comes back."""
        if str(message.get("UserEvent", "")).startswith(BARRIER_PREFIX):
            seen = self._barrier_seen
            if message.get("UserEvent") == self._barrier and seen and not seen.done():
                seen.set_result(message)
            return True
        return False

    def abort(self) -> None:
        """The connection is gone: deliver what was held (it did arrive)."""
        if self._held is not None:
            self._release([])
        if self._barrier_seen is not None and not self._barrier_seen.done():
            self._barrier_seen.cancel()

    async def run(self, request: Request) -> None:
        """Read Asterisk's lists, wait for the barrier, resync, flush."""
        action = _SnapshotAction({"Action": "CoreShowChannels"}, self._mark_snapshot)
        replies = await request(action)
        if not isinstance(replies, list):
            log.warning("server %r: CoreShowChannels refused (%s); cannot resync, calls "
                        "that ended while we were away stay open", self.name,
                        replies.get("Message") or "no reason")
            self._release([])
            return
        answers = _list_events(replies)
        answers += await self._optional_lists(request)
        barrier = await self._await_barrier(request)
        log.info("server %r: resync with %d channel(s)", self.name,
                 sum(1 for m in answers if m.get("Event") == "CoreShowChannel"))
        self._release([*answers, barrier])

    async def _optional_lists(self, request: Request) -> list[Any]:
        """Parks, queue waiters and conference members, where Asterisk allows.

        An action Asterisk refuses (no privilege, module not loaded) must
        not break the resync: it is logged once per server and skipped.
        """
        answers: list[Any] = []
        for action in _OPTIONAL_ACTIONS:
            answers += await self._ask(request, {"Action": action})
        rooms = [str(m.get("Conference", "")) for m in answers
                 if m.get("Event") == "ConfbridgeListRooms"]
        for room in (r for r in rooms if r):
            answers += await self._ask(request, {"Action": "ConfbridgeList",
                                                 "Conference": room})
        return answers

    async def _ask(self, request: Request, action: Mapping[str, str]) -> list[Any]:
        name = action["Action"]
        try:
            replies = await request(action)
        except TimeoutError:
            replies = None
        if isinstance(replies, list):
            return _list_events(replies)
        reason = "no answer" if replies is None else replies.get("Message") or "no reason"
        if name not in self._refused and not _no_entries(reason):
            self._refused.add(name)
            log.warning("server %r: Asterisk refused %s (%s); the resync goes on without "
                        "it (see the README for the AMI privileges a resync needs)",
                        self.name, name, reason)
        return []

    async def _await_barrier(self, request: Request) -> Any:
        """Send our barrier UserEvent and wait for it to come back; return
        the barrier event to hand to the manager (as received, or as sent)."""
        self._barrier = BARRIER_PREFIX + uuid.uuid4().hex
        self._barrier_seen = asyncio.get_running_loop().create_future()
        sent = {"Event": "UserEvent", "UserEvent": self._barrier}
        reply = await request({"Action": "UserEvent", "UserEvent": self._barrier})
        if not reply.success:
            log.warning("server %r: UserEvent refused; resyncing without a barrier",
                        self.name)
            return sent
        limit = self._action_timeout
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._barrier_seen), limit)
        log.warning("server %r: the resync UserEvent did not come back within %g s "
                    "(does the AMI user have read=user?); resyncing anyway",
                    self.name, limit)
        return sent

    def _mark_snapshot(self) -> None:
        if self._held is not None and self._split is None:
            self._split = len(self._held)

    def _release(self, resync: list[Any]) -> None:
        """Deliver the held events with the resync's answers and barrier
        where Asterisk began answering, in one go so no live event slips in.

        The answers go through ``manager.on_event`` like any event: the
        manager resyncs at the barrier, and a ``--record`` file holds them
        in this order, so a replay resyncs at the same point.
        """
        held, split = self._held or [], self._split
        self._held = self._split = None
        cut = len(held) if split is None else split
        for message in [*held[:cut], *resync, *held[cut:]]:
            self._deliver(message)

#: Asked after CoreShowChannels when present (parks, queue waiters, conference rooms).
_OPTIONAL_ACTIONS = ("ParkedCalls", "QueueStatus", "ConfbridgeListRooms")


def _list_events(replies: list[Any]) -> list[Any]:
    """The events of a list answer (the leading Response is not an event)."""
    return [m for m in replies if m.get("Event")]


def _no_entries(reason: str) -> bool:
    """Asterisk answers an empty list with an error ('No active conferences.')."""
    return reason.lower().startswith("no active conferences")


__all__ = ["BARRIER_PREFIX", "Resync"]

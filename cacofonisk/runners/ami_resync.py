"""Resync after a reconnect: hold live events, read Asterisk's lists, release.

Why a module of its own: the order in which things reach the manager after
a reconnect is the delicate part of the live runner. Live events are held
back while Asterisk's channel list is read (CoreShowChannels); a UserEvent
barrier marks the end of the answer; then ``manager.resync(channels)`` runs
and the held events follow in order. Events that arrived before Asterisk
began answering go first, since the list already reflects them. The pure
work (what the tracker makes of the lists) is ``cacofonisk.resync``; this
module only does the AMI side.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk.actions import Action

log = logging.getLogger(__name__)

#: UserEvent names starting with this are resync barriers, never reported.
BARRIER_PREFIX = "CacofoniskResyncDone-"

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
        manager: the server's ChannelManager (``resync`` is called on it).
        deliver: hands one event to the manager (never raises).
        action_timeout: how long to wait for the barrier to come back.
    """

    def __init__(self, name: str, manager: Any, deliver: Callable[[Any], None],
                 action_timeout: float) -> None:
        self.name = name
        self.manager = manager
        self._deliver = deliver
        self._action_timeout = action_timeout
        self._held: list[Any] | None = None
        self._split: int | None = None
        self._barrier = ""
        self._barrier_seen: asyncio.Future[None] | None = None

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
                seen.set_result(None)
            return True
        return False

    def abort(self) -> None:
        """The connection is gone: deliver what was held (it did arrive)."""
        if self._held is not None:
            self._release(None)
        if self._barrier_seen is not None and not self._barrier_seen.done():
            self._barrier_seen.cancel()

    async def run(self, request: Request) -> None:
        """Read Asterisk's channel list, wait for the barrier, resync, flush."""
        action = _SnapshotAction({"Action": "CoreShowChannels"}, self._mark_snapshot)
        replies = await request(action)
        if not isinstance(replies, list):
            log.warning("server %r: CoreShowChannels refused (%s); cannot resync, calls "
                        "that ended while we were away stay open", self.name,
                        replies.get("Message") or "no reason")
            self._release(None)
            return
        channels = [dict(m) for m in replies if m.get("Event") == "CoreShowChannel"]
        await self._await_barrier(request)
        log.info("server %r: resync with %d channel(s)", self.name, len(channels))
        self._release(channels)

    async def _await_barrier(self, request: Request) -> None:
        self._barrier = BARRIER_PREFIX + uuid.uuid4().hex
        self._barrier_seen = asyncio.get_running_loop().create_future()
        reply = await request({"Action": "UserEvent", "UserEvent": self._barrier})
        if not reply.success:
            log.warning("server %r: UserEvent refused; resyncing without a barrier",
                        self.name)
            return
        limit = self._action_timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._barrier_seen), limit)
            return
        log.warning("server %r: the resync UserEvent did not come back within %g s "
                    "(does the AMI user have read=user?); resyncing anyway",
                    self.name, limit)

    def _mark_snapshot(self) -> None:
        if self._held is not None and self._split is None:
            self._split = len(self._held)

    def _release(self, channels: list[dict[str, Any]] | None) -> None:
        """Deliver held events around ``manager.resync``, in one go so no
        live event can slip in between."""
        held, split = self._held or [], self._split
        self._held = self._split = None
        cut = len(held) if split is None else split
        for message in held[:cut]:
            self._deliver(message)
        if channels is not None:
            try:
                self.manager.resync(channels)
            except Exception:
                log.exception("server %r: the channel manager failed to resync", self.name)
        for message in held[cut:]:
            self._deliver(message)


__all__ = ["BARRIER_PREFIX", "Resync"]

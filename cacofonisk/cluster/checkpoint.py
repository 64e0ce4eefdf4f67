"""What a follower leaves for its successor, and when it may forget it.

Why a module of its own: the follower's job is to follow a server behind a
fence; deciding what its successor must find is a second job with its own
state. The checkpoint of a server (one entry of the ``<bucket>_calls``
bucket) holds:

* the **channels** tracked now (CoreShowChannel-like bodies, so the
  successor's resync can end the calls that vanished during the gap);
* the **ended calls** whose ``on_hangup`` is not stored yet, flagged with
  that record's event id (``HangupEventId``): the successor ends them with
  the same id, so JetStream keeps one of the two;
* the **outbox**: the messages handed to the publisher that JetStream has
  not acknowledged (``Message.as_json``). The successor sends them first,
  with the same ``Nats-Msg-Id``, so a ring or an answer the predecessor saw
  but could not send is stored after all, and stored once.

It is written *before* a batch of records is handed on (write-ahead), and
rewritten as acknowledgements come in (``prune``). A record is *stored*
when JetStream acknowledged it (with ``--publish``) or once it is written
(without: there is nothing more durable to wait for).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from .leases import LeaseStore, SavedCheckpoint

log = logging.getLogger(__name__)

#: Ended calls kept in the checkpoint at most while their hangup is not
#: stored; beyond it the oldest go, with a warning.
MAX_UNSTORED = 1000
#: Seconds an acknowledged message may stay in the written outbox when
#: nothing else changed (sending it again is harmless: JetStream drops the
#: copy by its id), so acknowledgements do not cost a write each.
OUTBOX_LAG = 1.0
#: Messages kept in the outbox at most (about 1 KB each: the entry must stay
#: well under what NATS takes as one value, 1 MB by default).
MAX_OUTBOX = 300

Entries = dict[str, dict[str, Any]]


class Checkpoint:
    """One server's checkpoint as its follower keeps it.

    Args:
        store: the cluster's buckets.
        server: the server's name (the entry's key).
        worker: this worker's id (written as the owner).
        lease: the fencing token of the lease this follower holds.
    """

    def __init__(self, store: LeaseStore, server: str, worker: str, lease: int) -> None:
        self.store = store
        self.server = server
        self.worker = worker
        self.lease = lease
        self.revision = 0
        #: what the bucket holds now (as last written or read)
        self.saved: Entries = {}
        self.saved_outbox: Entries = {}
        #: call id (its caller's Uniqueid) -> event id of the on_hangup handed on
        self.hung: dict[str, str] = {}
        #: event ids of handed-on hangups that are stored
        self.stored: set[str] = set()
        #: Nats-Msg-Id -> message handed on (or about to be) and not acknowledged
        self.outbox: Entries = {}
        #: records handed on and not stored yet (a hand-over waits for 0)
        self.unstored = 0
        self._warned: set[str] = set()  # limits reached, warned once until back under
        self._written = 0.0  # time.monotonic() of the last write
        self._loop: asyncio.AbstractEventLoop | None = None

    async def load(self) -> SavedCheckpoint:
        """Read the predecessor's checkpoint; its outbox becomes ours until sent."""
        self._loop = asyncio.get_running_loop()
        saved = await self.store.read_checkpoint(self.server)
        log.debug("server %r: checkpoint read (revision %d): %d channel(s), %d message(s)",
                  self.server, saved.revision, len(saved.channels), len(saved.outbox))
        self.revision = saved.revision
        self.saved = {str(c.get("Uniqueid")): c for c in saved.channels}
        self.outbox = {str(m.get("id")): m for m in saved.outbox if m.get("id")}
        self.saved_outbox = dict(self.outbox)
        return saved

    @property
    def waiting(self) -> bool:
        """True while something handed on is not stored, or the written
        outbox still holds what is (``prune`` has work)."""
        return bool(self.hung or self.outbox or self.saved_outbox)

    def flagged(self, entries: Entries) -> Entries:
        """``entries`` with the event id of each handed-on hangup attached."""
        hung = self.hung
        return {uid: ({**entry, "HangupEventId": hung[uid]} if uid in hung else entry)
                for uid, entry in entries.items()}

    def handing_on(self, hangups: Iterable[tuple[str, str]],
                   messages: Iterable[dict[str, Any]]) -> None:
        """Note what a batch is about to hand on: ``(call id, event id)`` of its
        hangups, and its messages (``Message.as_json``)."""
        for call_id, event_id in hangups:
            self.hung[call_id] = event_id
        for message in messages:
            self.outbox[str(message["id"])] = message

    def stored_callback(self, hangup: str = "", msg_id: str | None = None
                        ) -> Callable[[], None]:
        """What the reporter calls, from any thread, once a record handed on is
        stored (``hangup``: its event id if it is an on_hangup; ``msg_id``: its
        message's id if it went to the outbox)."""
        loop = self._loop
        self.unstored += 1

        def stored() -> None:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._on_stored, hangup, msg_id)
        return stored

    def _on_stored(self, hangup: str, msg_id: str | None) -> None:
        self.unstored -= 1
        if hangup:
            self.stored.add(hangup)
        if msg_id:
            self.outbox.pop(msg_id, None)

    async def write_ahead(self, current: Entries) -> bool:
        """Before a batch goes on: the channels tracked now plus every one
        the bucket holds (the gone stay until ``prune``), and the outbox."""
        return await self.save(self.flagged({**self.saved, **current}))

    async def prune(self, current: Entries, now: bool = False) -> None:
        """Rewrite without what is stored: keep the channels tracked now
        (``current``, flagged) and the ended calls whose hangup is not stored.

        When only the outbox shrank, the write waits up to ``OUTBOX_LAG``
        (or the next batch's write-ahead), unless ``now`` (a hand-over).
        """
        waiting = [uid for uid in self.saved
                   if uid not in current and uid in self.hung
                   and self.hung[uid] not in self.stored]
        waiting = self._newest(waiting, MAX_UNSTORED, "ended calls whose hangup is")
        kept = {**{uid: self.saved[uid] for uid in waiting}, **current}
        if not now and kept == self.saved and time.monotonic() - self._written < OUTBOX_LAG:
            return
        if await self.save(kept):
            self.hung = {u: e for u, e in self.hung.items() if u in kept}
            self.stored.intersection_update(self.hung.values())

    async def save(self, channels: Entries) -> bool:
        """Write ``channels`` and the outbox if either changed; False when NATS
        did not take it (the caller retries while its fence is open)."""
        ids = self._newest(list(self.outbox), MAX_OUTBOX, "messages are")
        if len(ids) < len(self.outbox):  # the older ones are forgotten here too
            self.outbox = {i: self.outbox[i] for i in ids}
        outbox = dict(self.outbox)
        if channels == self.saved and outbox == self.saved_outbox:
            return True
        try:
            self.revision = await asyncio.wait_for(self.store.save_checkpoint(
                self.server, list(channels.values()), self.revision, self.worker, self.lease,
                list(outbox.values())), self.store.timeout)
        except Exception as err:  # NATS away: retry until the fence closes
            log.warning("server %r: checkpoint not saved (%s); records wait",
                        self.server, str(err) or type(err).__name__)
            return False
        self.saved, self.saved_outbox = channels, outbox
        self._written = time.monotonic()
        log.debug("server %r: checkpoint written (revision %d): %d channel(s), "
                  "%d message(s)", self.server, self.revision, len(channels), len(outbox))
        return True

    def _newest(self, keys: list[str], limit: int, what: str) -> list[str]:
        """The last ``limit`` of ``keys``, warning once when some are left out."""
        if len(keys) <= limit:
            self._warned.discard(what)
            return keys
        if what not in self._warned:
            self._warned.add(what)
            log.warning("server %r: more than %d %s not stored yet (is the publisher "
                        "reaching NATS?); the checkpoint keeps the newest %d, a successor "
                        "would not see the others", self.server, limit, what, limit)
        return keys[-limit:]


__all__ = ["MAX_OUTBOX", "MAX_UNSTORED", "Checkpoint"]

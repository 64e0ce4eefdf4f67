"""Following one Asterisk server for the cluster: an AmiRunner behind a fence.

Why a fence around the reporter: a worker that can no longer renew its
lease (cut off from NATS, still connected to Asterisk) must stop
publishing *before* the lease can lapse and a successor starts. The worker
stops the runner at ``valid_until``; the ``FencedReporter`` also drops any
record produced after that instant, so the few events still read while
the runner logs off are never delivered.

Why checkpoints: a successor knows nothing of the calls the previous owner
reported. Before a batch of records is handed on, the channels this
follower tracks are written to the checkpoint bucket (write-ahead: a batch
whose checkpoint NATS did not take waits, and is dropped if the fence
closes first), so a successor can load them (``manager.resync`` with the
predecessor's view) and its connect-time resync against
``CoreShowChannels`` ends the calls that vanished during the gap with the
honest "ended while disconnected" record, while calls still up go on
without a second ring or answer. A channel that hung up stays in the
checkpoint until its on_hangup record is stored for good (JetStream
acknowledged it, with ``--publish``; handed on, without), then is removed;
until then its entry carries the event id of that on_hangup
(``HangupEventId``), and a successor that ends the call gives its record
that same id, so the two are one record for JetStream's de-duplication.
So a worker killed (or cut off) while its publisher still holds a call's
records loses no call: the successor reports its end.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..calls import CallEvent
from ..reporters.base import BaseReporter, deliver
from .leases import LeaseStore

log = logging.getLogger(__name__)

#: How long a stop may take (logoff, last events) before the task is cancelled.
STOP_TIMEOUT = 2.0
#: Seconds between checks for stored hangups while ended calls wait in the
#: checkpoint for their record's acknowledgement.
PRUNE_EVERY = 0.25
#: Ended calls kept in the checkpoint at most while their hangup is not
#: stored (a publisher away for long must not grow it past what NATS takes
#: as one value); beyond it the oldest go, with a warning.
MAX_UNSTORED = 1000


class FencedReporter(BaseReporter):
    """Queues call events for one follower; none gets past its fence.

    Args:
        follower: whose ``valid_until`` (time.monotonic) is the fence.
    """

    def __init__(self, follower: Follower) -> None:
        self._follower = follower
        self.dropped = 0

    def on_call_event(self, record: CallEvent) -> None:
        follower = self._follower
        if follower.seeding:
            return  # the predecessor reported it already
        if follower.fenced():
            self.dropped += 1
            return
        if record.HOOK == "on_hangup" and record.call_id in follower.pending_hangups:
            # the predecessor may have handed this hangup on before it went:
            # the same id lets JetStream (and any reader) drop one of the two
            record = attrs.evolve(record,
                                  event_id=follower.pending_hangups.pop(record.call_id))
        follower.queue.put_nowait(record)

    def trace_msg(self, msg: str) -> None:
        log.debug("server %r: %s", self._follower.name, msg)

    def close(self) -> None:
        """The runner closes its reporter when it stops; the shared reporter
        behind this one stays open for the other servers."""


def channel_entries(manager: Any) -> dict[str, dict[str, str]]:
    """The channels ``manager`` tracks, as CoreShowChannel bodies by Uniqueid."""
    out: dict[str, dict[str, str]] = {}
    for chan in getattr(manager, "channels", ()):
        caller = chan.caller_id
        out[chan.uniqueid] = {
            "Uniqueid": chan.uniqueid, "Channel": chan.name,
            "ChannelState": str(chan.ami_state), "CallerIDNum": caller.number or "",
            "CallerIDName": caller.name, "Exten": chan.exten or "",
            "Linkedid": chan.linkedid,
            "BridgeId": chan.bridge.uniqueid if chan.bridge is not None else "",
        }
    return out


class Follower:
    """One server followed under one lease.

    Args:
        host: the AmiRunner host dict of the server (name included).
        reporter: where records go (shared by every follower of the worker;
            never closed here).
        store: the cluster's buckets (for checkpoints).
        worker: this worker's id (written as the checkpoint's owner).
        lease: the revision that claimed the lease: the fencing token. It
            grows with every claim, so records stamped with it show which
            owner came first (``on_cluster_event``).
        options: AmiRunner keyword options.
        clock: monotonic seconds (the fence is local time, never wall time).
    """

    def __init__(self, host: Mapping[str, Any], reporter: Any, store: LeaseStore,
                 worker: str, lease: int, options: Mapping[str, Any],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = dict(host)
        self.name = str(host["name"])
        self.reporter = reporter
        self.store = store
        self.worker = worker
        self.lease = lease
        self.options = dict(options)
        self.clock = clock
        self.valid_until = 0.0
        #: True while the predecessor's checkpoint is loaded: records the
        #: manager makes then (a resync may report what it finds) were
        #: reported by the predecessor, and are dropped.
        self.seeding = False
        self.since = time.time()
        self.queue: asyncio.Queue[CallEvent] = asyncio.Queue()
        self.runner: Any = None
        self._task: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._checkpoint: dict[str, dict[str, str]] = {}
        self._busy = False  # the pump holds a batch
        #: Uniqueid -> event id of the on_hangup handed on (or about to be)
        #: for a channel still in the checkpoint; saved with it as
        #: ``HangupEventId``.
        self._hung: dict[str, str] = {}
        #: Event ids of handed-on hangups that are stored for good (added
        #: on this loop, by ``_stored_callback``'s callbacks)
        self._stored: set[str] = set()
        #: Records handed on and not stored yet (a hand-over waits for 0)
        self._unstored = 0
        self._over_limit = False  # MAX_UNSTORED reached (warned once)
        self._loop: asyncio.AbstractEventLoop | None = None
        #: From the predecessor's checkpoint: call id -> the event id its
        #: on_hangup had; our own hangup of that call takes the same id.
        self.pending_hangups: dict[str, str] = {}
        self._checkpoint_rev = 0

    def deadline(self) -> float:
        """The fence time now (``clock``): renewals move it on, a fence or a
        hand-over sets it to 0."""
        return self.valid_until

    def fenced(self) -> bool:
        """True once the lease may have lapsed: nothing may be published."""
        return self.clock() >= self.valid_until

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def ended(self) -> str | None:
        """Why the runner stopped on its own (a refused login, ``give_up_after``),
        or None while it runs (or was never started)."""
        task = self._task
        if task is None or not task.done():
            return None
        if task.cancelled():
            return "cancelled"
        err = task.exception()
        return "the runner returned" if err is None else (str(err) or type(err).__name__)

    async def start(self, valid_until: float) -> None:
        """Load the predecessor's checkpoint, then connect and follow."""
        from ..runners.ami_runner import AmiRunner  # panoramisk only when following

        self.valid_until = valid_until
        self._loop = asyncio.get_running_loop()
        seed, self._checkpoint_rev = await self.store.checkpoint(self.name)
        self.runner = AmiRunner([self.host], FencedReporter(self),
                                **{**self.options, "resync_on_first_connect": True})
        manager = self.runner.channel_managers[0]
        self.pending_hangups = {str(c["Uniqueid"]): str(c["HangupEventId"]) for c in seed
                                if c.get("Uniqueid") and c.get("HangupEventId")}
        if seed:
            self.seeding = True
            try:
                manager.resync(seed)  # the predecessor's view; the real resync follows
            finally:
                self.seeding = False
            self._checkpoint = {str(c.get("Uniqueid")): c for c in seed}
            log.info("server %r: %d channel(s) from the previous owner's checkpoint",
                     self.name, len(seed))
        self._task = asyncio.create_task(self.runner.run_async(), name=f"follow:{self.name}")
        self._pump = asyncio.create_task(self._forward(), name=f"forward:{self.name}")

    async def stop(self, flush: bool) -> None:
        """Stop following; ``flush`` (a hand-over, not a fence) reports
        held-back events first, waits (up to the fence) until every queued
        record was handed on and stored, so the successor's records come
        after ours, then writes the last checkpoint: what is still tracked,
        and the ended calls whose hangup is not stored yet (the successor
        ends those). What is unsent at the fence is dropped by the
        publisher, never sent late."""
        runner, task = self.runner, self._task
        if runner is not None and task is not None:
            runner.stop()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT)
            task.cancel()
            if flush and not self.fenced():
                with contextlib.suppress(Exception):
                    runner.channel_managers[0].flush()
        if flush and self._pump is not None and not self.fenced():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), STOP_TIMEOUT)
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
        while flush and self._unstored > 0 and not self.fenced():
            await asyncio.sleep(0.01)
        if flush and runner is not None and not self.fenced() and self.queue.empty():
            # the successor must not find channels whose hangup is stored
            await self._prune()

    async def _drained(self) -> None:
        """Wait until every queued record was handed on and the pump is idle."""
        while not self.queue.empty() or self._busy:
            await asyncio.sleep(0.01)

    def health(self) -> dict[str, Any]:
        """The runner's figures for this server (connected, lag ...)."""
        if self.runner is None:
            return {}
        return dict(self.runner.health().get(self.name, {}))

    async def _forward(self) -> None:
        """Hand records on in order: checkpoint first, then the batch.

        A reporter with ``on_cluster_event(record, origin, deadline)`` gets
        the record with its origin (worker id and fencing token), e.g. to
        stamp output, and ``deadline``: a callable giving the fence time now
        (a publisher must not send the record after it).
        """
        stamped = getattr(self.reporter, "on_cluster_event", None)
        origin = {"worker": self.worker, "lease": self.lease}
        while True:
            self._busy = False
            if self._hung:  # ended calls wait for their hangup to be stored
                try:
                    first = await asyncio.wait_for(self.queue.get(), PRUNE_EVERY)
                except TimeoutError:
                    if not self.fenced():
                        await self._prune()
                    continue
            else:
                first = await self.queue.get()
            batch = [first]
            self._busy = True
            while True:  # write-ahead: nothing is handed on before its checkpoint
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                if self.fenced():
                    log.warning("server %r: lease may have lapsed; %d record(s) not "
                                "handed on", self.name, len(batch))
                    return
                for record in batch:
                    if record.HOOK == "on_hangup" and record.event_id:
                        self._hung[record.call_id] = record.event_id
                current = self._entries()
                merged = self._flagged({**self._checkpoint, **current})  # the gone stay
                if await self._save(merged):
                    break
                await asyncio.sleep(0.1)
            for record in batch:
                hangup = record.event_id if record.HOOK == "on_hangup" else ""
                try:
                    if stamped is not None:
                        stamped(record, origin, self.deadline, self._stored_callback(hangup))
                    else:
                        deliver(self.reporter, record)
                        self._stored.add(hangup)
                except Exception:
                    log.exception("server %r: reporter raised on %s", self.name, record.HOOK)
            if merged.keys() != current.keys() and self.queue.empty():
                await self._prune()

    def _stored_callback(self, hangup: str) -> Callable[[], None]:
        """What the reporter calls, from any thread, once a record handed on
        is stored for good (``hangup``: its event id if it is an on_hangup)."""
        loop = self._loop
        self._unstored += 1

        def stored() -> None:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._on_stored, hangup)
        return stored

    def _on_stored(self, hangup: str) -> None:
        self._unstored -= 1
        if hangup:
            self._stored.add(hangup)

    async def _prune(self) -> None:
        """Write the checkpoint without the ended calls whose hangup is stored.

        Kept: every channel tracked now, and each ended call (from the
        checkpoint written before its records were handed on) whose
        on_hangup is not stored yet, at most ``MAX_UNSTORED`` of them.
        """
        current = self._entries()
        waiting = [uid for uid in self._checkpoint
                   if uid not in current and self._hung.get(uid, "") not in self._stored
                   and uid in self._hung]
        if len(waiting) > MAX_UNSTORED:
            if not self._over_limit:  # once until it is back under: not every round
                log.warning("server %r: more than %d ended calls whose hangup is not "
                            "stored yet (is the publisher reaching NATS?); the checkpoint "
                            "keeps the newest %d, a successor would not end the others",
                            self.name, MAX_UNSTORED, MAX_UNSTORED)
            waiting = waiting[-MAX_UNSTORED:]
        self._over_limit = len(waiting) >= MAX_UNSTORED
        kept = {**{uid: self._checkpoint[uid] for uid in waiting}, **current}
        if await self._save(kept):
            self._hung = {u: e for u, e in self._hung.items() if u in kept}
            self._stored.intersection_update(self._hung.values())

    def _flagged(self, entries: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """``entries`` with the event id of each handed-on hangup attached."""
        return {uid: ({**entry, "HangupEventId": self._hung[uid]} if uid in self._hung
                      else entry) for uid, entry in entries.items()}

    def _entries(self) -> dict[str, dict[str, str]]:
        """The channels tracked now, as checkpoint entries (flags included)."""
        return self._flagged(channel_entries(self.runner.channel_managers[0]))

    async def _save(self, channels: dict[str, dict[str, str]]) -> bool:
        """Write the checkpoint if it changed; False when NATS did not take it."""
        if channels == self._checkpoint:
            return True
        try:
            self._checkpoint_rev = await asyncio.wait_for(self.store.save_checkpoint(
                self.name, list(channels.values()), self._checkpoint_rev, self.worker,
                self.lease),
                self.store.timeout)
        except Exception as err:  # NATS away: retry until the fence closes
            log.warning("server %r: checkpoint not saved (%s); records wait",
                        self.name, str(err) or type(err).__name__)
            return False
        self._checkpoint = channels
        return True


__all__ = ["FencedReporter", "Follower", "channel_entries"]

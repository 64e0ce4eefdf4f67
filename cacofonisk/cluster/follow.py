"""Following one Asterisk server for the cluster: an AmiRunner behind a fence.

Why a fence around the reporter: a worker that can no longer renew its
lease (cut off from NATS, still connected to Asterisk) must stop
publishing *before* the lease can lapse and a successor starts. The worker
stops the runner at ``valid_until``; the ``FencedReporter`` also drops any
record produced after that instant, so the few events still read while
the runner logs off are never delivered.

Why checkpoints: a successor knows nothing of the calls the previous owner
reported. Before a batch of records is handed on, what the successor must
find is written to the checkpoint bucket (write-ahead: a batch whose
checkpoint NATS did not take waits, and is dropped if the fence closes
first): the channels tracked, the ended calls whose hangup is not stored
yet, and the messages not acknowledged yet (``checkpoint.py``). A
successor loads them (``manager.resync`` with the predecessor's view),
sends the predecessor's unacknowledged messages again, and its
connect-time resync against ``CoreShowChannels`` ends the calls that
vanished during the gap with the honest "ended while disconnected"
record (with the predecessor's hangup event id where it had one, so
JetStream keeps one of the two), while calls still up go on without a
second ring or answer.
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
from .checkpoint import Checkpoint
from .leases import LeaseStore

log = logging.getLogger(__name__)

#: How long a stop may take (logoff, last events) before the task is cancelled.
STOP_TIMEOUT = 2.0
#: Seconds between checks for acknowledgements while something handed on
#: waits in the checkpoint (ended calls, the outbox).
PRUNE_EVERY = 0.25


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
        self._busy = False  # the pump holds a batch
        #: what the successor will find (channels, ended calls, outbox)
        self.checkpoint = Checkpoint(store, self.name, worker, lease)
        #: From the predecessor's checkpoint: call id -> the event id its
        #: on_hangup had; our own hangup of that call takes the same id.
        self.pending_hangups: dict[str, str] = {}

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
        saved = await self.checkpoint.load()
        seed = saved.channels
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
            log.info("server %r: %d channel(s) from the previous owner's checkpoint",
                     self.name, len(seed))
        self._send_again(saved.outbox)
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
        while flush and self.checkpoint.unstored > 0 and not self.fenced():
            await asyncio.sleep(0.01)
        if flush and runner is not None and not self.fenced() and self.queue.empty():
            # the successor must not find channels whose hangup is stored
            await self.checkpoint.prune(self._entries(), now=True)

    def _send_again(self, outbox: list[dict[str, Any]]) -> None:
        """Hand the predecessor's unacknowledged messages to our publisher,
        before any record of ours: the same ids, so each is stored once."""
        again = getattr(self.reporter, "send_again", None)
        if not outbox or again is None:
            return
        origin = {"worker": self.worker, "lease": self.lease}
        for message in outbox:
            try:
                again(message, origin, self.deadline,
                      self.checkpoint.stored_callback(msg_id=str(message.get("id"))))
            except Exception:
                log.exception("server %r: could not send a message of the previous "
                              "owner again", self.name)
        log.info("server %r: %d unacknowledged message(s) of the previous owner sent again",
                 self.name, len(outbox))

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

        A reporter with ``on_cluster_event(record, origin, deadline, stored,
        message)`` gets the record with its origin (worker id and fencing
        token), e.g. to stamp output; ``deadline``: a callable giving the
        fence time now (a publisher must not send the record after it);
        ``stored``: to call once the record is stored; ``message``: what
        its ``message_of(record)`` made of it before the checkpoint was
        written (it went to the outbox), to publish as it is.
        """
        stamped = getattr(self.reporter, "on_cluster_event", None)
        message_of = getattr(self.reporter, "message_of", None)
        origin = {"worker": self.worker, "lease": self.lease}
        checkpoint = self.checkpoint
        while True:
            self._busy = False
            if checkpoint.waiting:  # ended calls, messages: wait for their acks
                try:
                    first = await asyncio.wait_for(self.queue.get(), PRUNE_EVERY)
                except TimeoutError:
                    if not self.fenced():
                        await checkpoint.prune(self._entries())
                    continue
            else:
                first = await self.queue.get()
            batch = [first]
            self._busy = True
            messages: list[Any] = []
            while True:  # write-ahead: nothing is handed on before its checkpoint
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                if self.fenced():
                    log.warning("server %r: lease may have lapsed; %d record(s) not "
                                "handed on", self.name, len(batch))
                    return
                messages += [message_of(r) if message_of is not None else None
                             for r in batch[len(messages):]]
                checkpoint.handing_on(
                    ((r.call_id, r.event_id) for r in batch
                     if r.HOOK == "on_hangup" and r.event_id),
                    (m.as_json() for m in messages if m is not None))
                current = self._entries()
                if await checkpoint.write_ahead(current):
                    break
                await asyncio.sleep(0.1)
            for record, message in zip(batch, messages):
                hangup = record.event_id if record.HOOK == "on_hangup" else ""
                try:
                    if stamped is not None:
                        stored = checkpoint.stored_callback(
                            hangup, message.msg_id if message is not None else None)
                        stamped(record, origin, self.deadline, stored, message)
                    else:  # written is all there is: stored now
                        deliver(self.reporter, record)
                        checkpoint.stored_callback(hangup)()
                except Exception:
                    log.exception("server %r: reporter raised on %s", self.name, record.HOOK)
            if checkpoint.saved.keys() != current.keys() and self.queue.empty():
                await checkpoint.prune(current)

    def _entries(self) -> dict[str, dict[str, str]]:
        """The channels tracked now, as checkpoint entries (flags included)."""
        return self.checkpoint.flagged(channel_entries(self.runner.channel_managers[0]))


__all__ = ["FencedReporter", "Follower", "channel_entries"]

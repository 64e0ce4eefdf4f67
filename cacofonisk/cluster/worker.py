"""The cluster worker: heartbeat, claim, renew, hand over, fence.

One loop, every ``ttl / 4`` seconds:

1. heartbeat: ``worker.<id>`` rewritten (membership lapses with the TTL);
2. renew every lease held, compare-and-set on its revision; a renew sent at
   local time t keeps the follower valid until ``t + ttl - margin``
   (margin ``ttl / 4``): the server dropped the old revision no sooner than
   ``t + ttl``, so the fence always closes before anyone else can claim;
3. read the bucket (live workers, held leases) and work out who should
   follow each server (``placement``: balanced, moving as few as it can);
4. claim free servers this worker should own (or any server free for more
   than two rounds: its owner may be slow to notice);
5. hand over at most one server a round that another live worker should
   own, once that worker has been seen for two rounds: stop following,
   report what was held back, wait (up to the fence) until its records are
   stored, release the lease; the new owner claims it on its next round.
   One a round, so a join moves servers gradually; the hand-over runs as a
   task of its own, so the other leases are renewed meanwhile.

A separate fast task (every 50 ms) stops any follower whose fence closed,
so a round stuck on an unreachable NATS never delays fencing. SIGTERM
(``stop()``) hands every server over at once and removes the heartbeat.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from .follow import Follower
from .leases import ClusterUnavailable, ClusterView, LeaseLost, LeaseStore
from .placement import assignment

log = logging.getLogger(__name__)

#: Rounds a free lease waits for its rendezvous owner before anyone claims it.
ORPHAN_ROUNDS = 2
#: Rounds a newly seen worker must stay alive before servers move to it.
SETTLE_ROUNDS = 2
#: Seconds a worker leaves alone a server whose runner stopped on its own
#: (refused login, give_up_after): another worker may have better luck.
COOL_DOWN = 30.0


def default_worker_id() -> str:
    """``<hostname>-<pid>``: unique per process, readable in ``cluster status``."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ClusterSettings:
    """How a worker joins a cluster.

    Attributes:
        urls: NATS server URLs (any node of the NATS cluster).
        bucket: the lease bucket (checkpoints: ``<bucket>_calls``).
        lease_ttl: seconds a lease (and a heartbeat) lives unless renewed.
        replicas: JetStream replicas of the buckets (3 on a 3-node cluster).
        worker_id: this worker's name; default ``<hostname>-<pid>``.
    """

    urls: tuple[str, ...]
    bucket: str = "cacofonisk"
    lease_ttl: float = 10.0
    replicas: int = 1
    worker_id: str = ""

    def __post_init__(self) -> None:
        if not self.urls or not all(u.startswith(("nats://", "tls://")) for u in self.urls):
            raise ConfigurationError("--cluster: expected nats://HOST:PORT[,nats://...]")
        if not self.lease_ttl >= 1.0:
            raise ConfigurationError("--lease-ttl: at least 1 second")
        if not 1 <= self.replicas <= 5:
            raise ConfigurationError("--cluster-replicas: 1 to 5")

    @property
    def round(self) -> float:
        """Seconds between rounds (renew, heartbeat, rebalance)."""
        return self.lease_ttl / 4

    @property
    def valid_for(self) -> float:
        """How long after sending a renew the follower may still publish."""
        return self.lease_ttl - self.lease_ttl / 4


async def connect(settings: ClusterSettings, name: str, timeout: float = 10.0,
                  reconnect: bool = True) -> Any:
    """A NATS connection (nats-py, extra 'nats'); with ``reconnect`` it keeps
    reconnecting once made, without it a refused first connect fails at once.

    Raises:
        ClusterUnavailable: no NATS server answered within ``timeout`` seconds.
    """
    try:
        import nats  # extra 'nats'
    except ImportError:
        raise ConfigurationError("cluster mode needs nats-py: pip install "
                                 "'cacofonisk[nats]'") from None

    async def on_error(err: Exception) -> None:  # one line, not nats-py's traceback
        log.warning("NATS: %s", str(err) or type(err).__name__)

    async def on_disconnect() -> None:
        log.warning("NATS: disconnected; reconnecting")

    async def on_reconnect() -> None:
        log.info("NATS: reconnected")

    try:
        return await asyncio.wait_for(nats.connect(
            servers=list(settings.urls), name=name, connect_timeout=2,
            reconnect_time_wait=0.25, max_reconnect_attempts=-1 if reconnect else 1,
            allow_reconnect=reconnect,
            error_cb=on_error, disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect), timeout)
    except Exception as err:
        why = str(err) or f"no answer within {timeout:g} s"
        raise ClusterUnavailable(f"cannot reach NATS at {', '.join(settings.urls)} ({why}); "
                                 f"is nats-server -js running there?") from None


class ClusterWorker:
    """One worker of the cluster.

    Args:
        settings: the cluster options.
        hosts: every server of the cluster (AmiRunner host dicts, with
            ``name``); all workers must be given the same list.
        reporter: where the records of the servers this worker follows go.
        runner_options: AmiRunner options for each follower.
    """

    def __init__(self, settings: ClusterSettings, hosts: Sequence[Mapping[str, Any]],
                 reporter: Any, runner_options: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.worker_id = settings.worker_id or default_worker_id()
        self.hosts = {str(h["name"]): dict(h) for h in hosts}
        self.reporter = reporter
        self.runner_options = dict(runner_options or {})
        self.followers: dict[str, Follower] = {}
        self.revisions: dict[str, int] = {}
        self.started = time.time()
        self._seen: dict[str, int] = {}
        self._free: dict[str, int] = {}
        self._cool: dict[str, float] = {}
        self._round = 0
        #: hand-overs under way (``_release`` tasks)
        self._handing_over: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._nc: Any = None
        self.store: LeaseStore | None = None
        #: the bucket as the last round read it (``listen --http``'s /health)
        self.last_view: ClusterView | None = None
        self.last_view_at: float | None = None

    def stop(self) -> None:
        """Leave the cluster (safe from a signal handler on the loop)."""
        self._stop.set()

    async def run(self) -> None:
        """Join, follow what this worker owns, until ``stop()``; then hand over."""
        self._nc = await connect(self.settings, self.worker_id)
        js = self._nc.jetstream(timeout=self.settings.round)
        self.store = LeaseStore(js, self.settings.bucket, self.settings.lease_ttl,
                                self.settings.round)
        await self._open_buckets()
        log.info("worker %r joined cluster bucket %r (%d servers, lease TTL %g s)",
                 self.worker_id, self.settings.bucket, len(self.hosts),
                 self.settings.lease_ttl)
        fence = asyncio.create_task(self._fence_loop())
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    await self._one_round()
                except Exception as err:
                    log.warning("worker %r: cluster round failed (%s)", self.worker_id,
                                str(err) or type(err).__name__)
                spent = time.monotonic() - started
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(),
                                           max(self.settings.round - spent, 0.01))
        finally:
            fence.cancel()
            await self._leave()

    async def _open_buckets(self) -> None:
        """Bind to the buckets, retrying while JetStream is not ready (a NATS
        cluster electing its leader); a wrong TTL is not retried."""
        assert self.store is not None
        delay = 0.2
        while True:
            try:
                await self.store.open(self.settings.replicas)
                return
            except ClusterUnavailable as err:
                if self._stop.is_set():
                    raise
                log.warning("worker %r: %s; retrying in %.1f s", self.worker_id, err, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, self.settings.round * 4)

    # -- one round ---------------------------------------------------------------------

    async def _one_round(self) -> None:
        store = self.store
        assert store is not None  # set by run()
        self._round += 1
        started = time.monotonic()
        await asyncio.gather(*(self._renew(name) for name in list(self.followers)))
        await store.heartbeat(self.worker_id, {"started": self.started,
                                               "servers": sorted(self.followers)})
        view = await store.view()
        self.last_view, self.last_view_at = view, time.time()
        live = set(view.workers) | {self.worker_id}
        for worker in live:
            self._seen.setdefault(worker, self._round)
        for worker in list(self._seen):
            if worker not in live:
                del self._seen[worker]
        current = {name: str(entry.value.get("worker", "")) for name, entry in view.leases.items()}
        wanted = assignment(self.hosts, live, current)
        await self._claim_free(view, wanted, started + self.settings.round / 2)
        await self._hand_over_one(view, wanted)

    async def _claim_free(self, view: ClusterView, wanted: Mapping[str, str],
                          until: float) -> None:
        """Claim what is free and ours, until ``until`` (monotonic): a worker
        starting with hundreds of servers claims them over several rounds,
        so the renews of those it already holds are never late."""
        for name in self.hosts:
            if name in view.leases or name in self.followers:
                self._free.pop(name, None)
                continue
            rounds = self._free[name] = self._free.get(name, 0) + 1
            if self._cool.get(name, 0.0) > time.monotonic():
                continue
            if (wanted.get(name) == self.worker_id or rounds > ORPHAN_ROUNDS) \
                    and time.monotonic() < until:
                await self._claim(name)

    async def _claim(self, name: str) -> None:
        store = self.store
        assert store is not None
        sent = time.monotonic()
        since = time.time()
        revision = await store.claim(name, {"worker": self.worker_id, "since": since})
        if revision is None:
            return
        follower = Follower(self.hosts[name], self.reporter, store, self.worker_id,
                            revision, self.runner_options)
        follower.since = since
        self.followers[name] = follower
        self.revisions[name] = revision
        self._free.pop(name, None)
        log.info("worker %r: following server %r (lease revision %d)", self.worker_id,
                 name, revision)
        try:
            await follower.start(sent + self.settings.valid_for)
        except Exception as err:  # e.g. the checkpoint could not be read: let go
            log.warning("worker %r: could not start following %r (%s); releasing it",
                        self.worker_id, name, str(err) or type(err).__name__)
            await self._release(name)

    async def _hand_over_one(self, view: ClusterView, wanted: Mapping[str, str]) -> None:
        for name in sorted(self.followers):
            target = wanted.get(name)
            if not target or target == self.worker_id:
                continue
            if self._round - self._seen.get(target, self._round) < SETTLE_ROUNDS:
                continue
            log.info("worker %r: handing server %r over to %r", self.worker_id, name, target)
            # in the background: waiting for our last records to be stored
            # must not hold up the renewal of the other leases
            task = asyncio.create_task(self._release(name), name=f"hand-over:{name}")
            self._handing_over.add(task)
            task.add_done_callback(self._handing_over.discard)
            return

    async def _renew(self, name: str) -> None:
        store, follower = self.store, self.followers.get(name)
        revision = self.revisions.get(name)
        if store is None or follower is None or revision is None:
            return
        health = follower.health()
        value = {"worker": self.worker_id, "since": follower.since,
                 "lease": follower.lease, "renewed": time.time(),
                 "connected": bool(health.get("connected")), "lag": health.get("lag"),
                 "last_event_age": health.get("last_event_age")}
        sent = time.monotonic()
        try:
            revision = await store.renew(name, revision, value)
        except LeaseLost as err:
            log.warning("worker %r: %s; stopping", self.worker_id, err)
            await self._drop(name)
            return
        except Exception as err:
            log.warning("worker %r: lease of %r not renewed (%s)", self.worker_id, name,
                        str(err) or type(err).__name__)
            return
        if self.followers.get(name) is follower:
            self.revisions[name] = revision
            follower.valid_until = sent + self.settings.valid_for

    # -- stopping ----------------------------------------------------------------------

    async def _fence_loop(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            for name, follower in list(self.followers.items()):
                if follower.fenced():
                    log.warning("worker %r: could not renew the lease of %r in time; "
                                "stopped following it", self.worker_id, name)
                    await self._drop(name)
                    continue
                why = follower.ended()
                if why is not None and self.followers.get(name) is follower:
                    log.error("worker %r: following %r ended (%s); releasing it, and "
                              "leaving it to the others for %g s", self.worker_id, name,
                              why, COOL_DOWN)
                    self._cool[name] = time.monotonic() + COOL_DOWN
                    await self._release(name)

    async def _drop(self, name: str) -> None:
        """Stop following without releasing (the lease is not ours any more)."""
        follower = self.followers.pop(name, None)
        self.revisions.pop(name, None)
        if follower is not None:
            follower.valid_until = 0.0
            await follower.stop(flush=False)

    async def _release(self, name: str) -> None:
        """Hand a server over: stop, report what was held back, free the lease."""
        follower = self.followers.pop(name, None)
        revision = self.revisions.pop(name, None)
        if follower is None or revision is None:
            return
        await follower.stop(flush=True)  # waits (up to the fence) for its records' acks
        fenced = follower.fenced()
        follower.valid_until = 0.0  # whatever is still unsent now is dropped, not sent late
        if self.store is not None and not fenced:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.store.release(name, revision),
                                       self.settings.round)

    async def _leave(self) -> None:
        """Heartbeat first (so the others stop counting on us), then the leases."""
        if self.store is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.store.leave(self.worker_id), self.settings.round)
        await asyncio.gather(*(self._release(name) for name in list(self.followers)),
                             *self._handing_over, return_exceptions=True)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.drain(), self.settings.round)
        log.info("worker %r left the cluster", self.worker_id)


__all__ = ["ClusterSettings", "ClusterWorker", "connect", "default_worker_id"]

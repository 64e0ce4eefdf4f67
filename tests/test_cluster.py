"""Cluster mode, piece by piece: placement (pure), leases on a real nats-server,
the fence around a follower's records, the status table, the CLI's errors.

The whole story on real processes is in test_cluster_failover.py.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cacofonisk.callerid import CallerId
from cacofonisk.calls import Hangup
from cacofonisk.cluster.follow import FencedReporter, Follower, channel_entries
from cacofonisk.cluster.leases import (ClusterView, Entry, LeaseLost, LeaseStore,
                                       SavedCheckpoint, escape, unescape)
from cacofonisk.cluster.placement import assignment, moves, owner_of
from cacofonisk.cluster.status import format_status, status_rows
from cacofonisk.errors import ConfigurationError
from cacofonisk.testing import nats_server

names = st.text(st.sampled_from("abcdefghij0123456789-:./é"), min_size=1, max_size=12)
server_sets = st.lists(names, min_size=1, max_size=40, unique=True)
worker_sets = st.lists(names, min_size=1, max_size=8, unique=True)


def loads(owner: dict[str, str], workers: list[str]) -> list[int]:
    return [sum(1 for w in owner.values() if w == worker) for worker in workers]


# -- placement ---------------------------------------------------------------------------

@given(server_sets, worker_sets)
def test_assignment_gives_every_server_one_live_worker_and_loads_within_one(
        servers: list[str], workers: list[str]) -> None:
    owner = assignment(servers, workers)
    assert set(owner) == set(servers) and set(owner.values()) <= set(workers)
    counts = loads(owner, workers)
    assert max(counts) - min(counts) <= 1


@given(server_sets, worker_sets, st.randoms())
def test_assignment_is_the_same_whatever_the_order_of_its_inputs(
        servers: list[str], workers: list[str], rnd: object) -> None:
    shuffled_servers, shuffled_workers = list(servers), list(workers)
    rnd.shuffle(shuffled_servers)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_workers)  # type: ignore[attr-defined]
    first = assignment(servers, workers)
    assert assignment(shuffled_servers, shuffled_workers) == first
    assert assignment(shuffled_servers, shuffled_workers, first) == first


@given(server_sets, worker_sets, names)
def test_a_join_moves_only_the_servers_the_newcomer_takes(
        servers: list[str], workers: list[str], newcomer: str) -> None:
    if newcomer in workers:
        workers = [w for w in workers if w != newcomer]
    if not workers:
        return
    before = assignment(servers, workers)
    after = assignment(servers, [*workers, newcomer], before)
    taken = sum(1 for w in after.values() if w == newcomer)
    assert moves(before, after) == taken
    assert taken <= -(-len(servers) // (len(workers) + 1))


@given(server_sets, st.lists(names, min_size=2, max_size=8, unique=True))
def test_a_leave_moves_only_the_leavers_servers(servers: list[str],
                                                 workers: list[str]) -> None:
    before = assignment(servers, workers)
    leaver = workers[0]
    after = assignment(servers, workers[1:], before)
    assert moves(before, after) == sum(1 for w in before.values() if w == leaver)


def test_owner_of_is_none_without_workers_and_a_member_otherwise() -> None:
    assert owner_of("pbx1", []) is None
    assert owner_of("pbx1", ["a", "b"]) in ("a", "b")


@given(names)
def test_escape_gives_a_kv_token_and_unescape_gives_the_name_back(name: str) -> None:
    token = escape(name)
    assert token and all(c.isascii() and (c.isalnum() or c in "-_=") for c in token)
    assert unescape(token) == name


# -- status --------------------------------------------------------------------------------

def test_status_lists_who_follows_what_and_the_unfollowed() -> None:
    view = ClusterView(
        workers={"w1": Entry("w1", 3, {"started": 0})},
        leases={"pbx1": Entry("pbx1", 7, {"worker": "w1", "since": 1000.0, "lease": 5,
                                          "connected": True, "lag": 0.25,
                                          "last_event_age": 1.5})})
    rows = status_rows(view, ["pbx1", "pbx2"], now=1010.0)
    assert rows[0] == {"server": "pbx1", "worker": "w1", "since": 1000.0, "for": 10.0,
                       "connected": True, "lag": 0.25, "last_event_age": 1.5, "lease": 5}
    assert rows[1]["server"] == "pbx2" and rows[1]["worker"] is None
    text = format_status(view, ["pbx1", "pbx2"], now=1010.0)
    assert "0.250s" in text and "UNFOLLOWED" in text and "w1: 1 server(s)" in text


# -- the fence -------------------------------------------------------------------------------

class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _hangup(n: int) -> Hangup:
    return Hangup(call_id=f"c{n}", caller=CallerId(number="201"), to_number="202",
                  reason="completed", server="pbx1", event_id=f"c{n}:on_hangup:#0")


async def test_no_record_passes_the_fence_once_the_lease_may_have_lapsed() -> None:
    clock = _Clock()
    follower = Follower({"name": "pbx1", "host": "h", "username": "u", "password": "p"},
                        reporter=None, store=None, worker="w1", lease=1,  # type: ignore[arg-type]
                        options={}, clock=clock)
    follower.valid_until = 110.0
    fenced = FencedReporter(follower)
    fenced.on_call_event(_hangup(1))
    clock.now = 110.0
    fenced.on_call_event(_hangup(2))
    assert follower.queue.qsize() == 1 and follower.queue.get_nowait().call_id == "c1"
    assert fenced.dropped == 1


async def test_records_made_while_loading_the_predecessors_checkpoint_are_dropped() -> None:
    """A resync may report what it finds (e.g. a call it sees ringing); while
    the predecessor's checkpoint is loaded, that was reported already."""
    follower = Follower({"name": "pbx1", "host": "h", "username": "u", "password": "p"},
                        reporter=None, store=None, worker="w1", lease=1,  # type: ignore[arg-type]
                        options={}, clock=_Clock())
    follower.valid_until = 1e9
    fenced = FencedReporter(follower)
    follower.seeding = True
    fenced.on_call_event(_hangup(1))
    follower.seeding = False
    fenced.on_call_event(_hangup(2))
    assert [follower.queue.get_nowait().call_id] == ["c2"] and follower.queue.empty()


def test_a_hangup_the_predecessor_may_have_sent_gets_its_event_id() -> None:
    """The predecessor handed c1's hangup on but could not take it out of the
    checkpoint (cut off, or killed): our "ended while disconnected" hangup
    of c1 must be the same record for de-duplication, not a second one."""
    follower = Follower({"name": "pbx1", "host": "h", "username": "u", "password": "p"},
                        reporter=None, store=None, worker="w1", lease=1,  # type: ignore[arg-type]
                        options={}, clock=_Clock())
    follower.valid_until = 1e9
    follower.pending_hangups = {"c1": "c1:on_hangup:1700000000.250000"}
    fenced = FencedReporter(follower)
    fenced.on_call_event(_hangup(1))
    fenced.on_call_event(_hangup(2))
    ids = [follower.queue.get_nowait().event_id for _ in range(2)]
    assert ids == ["c1:on_hangup:1700000000.250000", "c2:on_hangup:#0"]
    assert follower.pending_hangups == {}


# -- leases on a real nats-server ----------------------------------------------------------

@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LeaseStore]:
    if nats_server.binary() is None:
        pytest.skip(nats_server.MISSING)
    import nats

    node = nats_server.single(tmp_path)
    nc = await nats.connect(node.url)
    try:
        # generous timeouts: a busy 2-core machine may take seconds to answer
        kv = LeaseStore(nc.jetstream(timeout=10.0), "leases", 30.0, 10.0)
        await kv.open()
        yield kv
    finally:
        await nc.close()
        node.stop()


async def test_a_lease_is_claimed_once_renewed_by_revision_and_released(
        store: LeaseStore) -> None:
    first = await store.claim("pbx:1", {"worker": "a"})
    assert first is not None
    assert await store.claim("pbx:1", {"worker": "b"}) is None
    second = await store.renew("pbx:1", first, {"worker": "a"})
    with pytest.raises(LeaseLost):
        await store.renew("pbx:1", first, {"worker": "a"})  # a stale owner
    await store.release("pbx:1", second)
    third = await store.claim("pbx:1", {"worker": "b"})
    assert third is not None and third > second
    await store.heartbeat("b", {"servers": ["pbx:1"]})
    view = await store.view()
    assert set(view.workers) == {"b"}
    assert view.leases["pbx:1"].value == {"worker": "b"}


async def test_a_checkpoint_of_a_newer_lease_is_not_overwritten_by_a_stale_owner(
        store: LeaseStore) -> None:
    assert await store.read_checkpoint("pbx1") == SavedCheckpoint([], [], 0)
    rev = await store.save_checkpoint("pbx1", [{"Uniqueid": "1"}], 0, "a", lease=5)
    newer = await store.save_checkpoint("pbx1", [{"Uniqueid": "2"}], rev, "b", lease=9)
    with pytest.raises(LeaseLost, match="newer lease"):  # a's late write, from its old revision
        await store.save_checkpoint("pbx1", [{"Uniqueid": "1"}, {"Uniqueid": "3"}], rev, "a",
                                    lease=5)
    saved = await store.read_checkpoint("pbx1")
    assert saved.channels == [{"Uniqueid": "2"}] and saved.revision == newer
    assert saved.lease == 9


async def test_an_owner_whose_checkpoint_answer_was_lost_writes_again(
        store: LeaseStore) -> None:
    """Its revision is stale only because it never heard of its own write."""
    rev = await store.save_checkpoint("pbx1", [{"Uniqueid": "1"}], 0, "a", lease=5)
    await store.save_checkpoint("pbx1", [{"Uniqueid": "2"}], rev, "a", lease=5)  # answer "lost"
    again = await store.save_checkpoint("pbx1", [{"Uniqueid": "3"}], rev, "a", lease=5)
    saved = await store.read_checkpoint("pbx1")
    assert (saved.channels, saved.revision) == ([{"Uniqueid": "3"}], again)


def _follow(srv: Any, output: Any, store: LeaseStore, worker: str = "w1",
            lease: int = 1) -> Follower:
    """A follower of the test server ``srv`` (server name pbx1)."""
    return Follower({"name": "pbx1", "host": srv.host, "port": srv.port, "username": "u",
                     "password": "s"}, output, store, worker, lease, {"idle_flush": 0.05})


def _one_call_server() -> Any:
    """An AMI test server (user u, secret s) playing one answered call of pbx1."""
    from cacofonisk.commands.demo import answered_call
    from cacofonisk.testing.ami_server import AmiTestServer

    return AmiTestServer(answered_call(0, system="pbx1"), username="u", secret="s",
                         restamp=True, rate=50)


async def _until(predicate: Any, tries: int = 200) -> None:
    """Poll ``predicate`` (maybe async) every 50 ms, ``tries`` times at most."""
    for _ in range(tries):
        done = predicate()
        if asyncio.iscoroutine(done):
            done = await done
        if done:
            return
        await asyncio.sleep(0.05)


class _SlowRemovals(LeaseStore):
    """A real store whose checkpoint writes that remove channels take 0.5 s,
    so a hand-over happens while one is under way."""

    saved = 0

    async def save_checkpoint(self, server: str, channels: list[dict[str, Any]],
                              revision: int, owner: str, lease: int = 0,
                              outbox: list[dict[str, Any]] | None = None) -> int:
        if len(channels) < self.saved:
            await asyncio.sleep(0.5)
        self.saved = len(channels)
        return await super().save_checkpoint(server, channels, revision, owner, lease, outbox)


class _Hooks:
    def __init__(self) -> None:
        self.hooks: list[str] = []

    def on_call_event(self, record: Any) -> None:
        self.hooks.append(record.HOOK)


async def test_a_handover_leaves_no_ended_call_in_the_checkpoint(store: LeaseStore) -> None:
    """Else the successor would end that call a second time ("ended while
    disconnected")."""
    slow = _SlowRemovals(store._js, "leases", 30.0, 10.0)
    await slow.open()
    seen = _Hooks()
    async with _one_call_server() as srv:
        follower = _follow(srv, seen, slow, "w1", 1)
        await follower.start(time.monotonic() + 60)
        await _until(lambda: "on_hangup" in seen.hooks)
        assert "on_hangup" in seen.hooks
        await follower.stop(flush=True)
    saved = [c["Uniqueid"] for c in (await slow.read_checkpoint("pbx1")).channels]
    assert "pbx1-1700000000.0" not in saved  # the caller's channel: its hangup went on
    assert saved == list(channel_entries(follower.runner.channel_managers[0]))


class _Unacked:
    """A publishing output whose records stay unacknowledged until ``ack()``,
    like a publisher while NATS is slow or away."""

    def __init__(self) -> None:
        self.hooks: list[str] = []
        self.waiting: list[Any] = []

    def on_cluster_event(self, record: Any, origin: Any, deadline: Any, stored: Any,
                         message: Any = None) -> None:
        self.hooks.append(record.HOOK)
        self.waiting.append(stored)

    def ack(self) -> None:
        for stored in self.waiting:
            stored()
        self.waiting.clear()


async def _checkpointed(store: LeaseStore, server: str) -> dict[str, dict[str, str]]:
    return {c["Uniqueid"]: c for c in (await store.read_checkpoint(server)).channels}


async def test_an_ended_call_stays_in_the_checkpoint_until_its_hangup_is_stored(
        store: LeaseStore) -> None:
    """A worker killed (or cut off) while its publisher still holds a
    hangup must leave the call to its successor, flagged with the hangup's
    event id, and a hand-over that cannot wait for the ack must too."""
    output = _Unacked()
    caller = "pbx1-1700000000.0"
    async with _one_call_server() as srv:
        follower = _follow(srv, output, store, "w1", 1)
        await follower.start(time.monotonic() + 60)
        await _until(lambda: "on_hangup" in output.hooks
                     and not follower.runner.channel_managers[0].channels)
        assert "on_hangup" in output.hooks
        await asyncio.sleep(0.5)  # two prune rounds: the hangup is still not acked
        held = await _checkpointed(store, "pbx1")
        assert caller in held and held[caller]["HangupEventId"].startswith(caller)

        follower.valid_until = time.monotonic() + 0.3  # the hand-over waits up to here
        started = time.monotonic()
        await follower.stop(flush=True)
        assert time.monotonic() - started >= 0.25  # it waited for the ack, in vain
        assert caller in await _checkpointed(store, "pbx1")

        successor = _follow(srv, output, store, "w2", 2)
        output.ack()  # too late for w1: the successor does not find it stored
        await successor.start(time.monotonic() + 60)
        try:
            assert successor.pending_hangups == {caller: held[caller]["HangupEventId"]}
        finally:
            await successor.stop(flush=False)


async def test_a_stored_hangup_takes_its_call_out_of_the_checkpoint(
        store: LeaseStore) -> None:
    output = _Unacked()
    async with _one_call_server() as srv:
        follower = _follow(srv, output, store, "w1", 1)
        await follower.start(time.monotonic() + 60)
        try:
            async def ended_and_checkpointed() -> bool:
                return "on_hangup" in output.hooks \
                    and "pbx1-1700000000.0" in await _checkpointed(store, "pbx1")

            await _until(ended_and_checkpointed)
            output.ack()

            async def checkpoint_empty() -> bool:
                return not await _checkpointed(store, "pbx1")

            await _until(checkpoint_empty, 40)  # the pump looks again every PRUNE_EVERY
            assert await _checkpointed(store, "pbx1") == {}
            assert follower.checkpoint.unstored == 0
        finally:
            await follower.stop(flush=True)


async def test_at_most_max_unstored_ended_calls_wait_in_the_checkpoint_warned_once(
        store: LeaseStore, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A publisher away for long must not grow the checkpoint without bound."""
    from cacofonisk.cluster import checkpoint as module

    monkeypatch.setattr(module, "MAX_UNSTORED", 2)
    checkpoint = module.Checkpoint(store, "pbx1", "w1", 1)
    await checkpoint.load()
    ended = [f"pbx1-{n}" for n in range(4)]
    checkpoint.handing_on(((u, f"{u}:h") for u in ended), ())
    assert await checkpoint.write_ahead({u: {"Uniqueid": u} for u in ended})
    await checkpoint.prune({})
    assert list(await _checkpointed(store, "pbx1")) == ended[2:]  # the newest two
    checkpoint.handing_on([("pbx1-4", "pbx1-4:h")], ())
    assert await checkpoint.write_ahead({"pbx1-4": {"Uniqueid": "pbx1-4"}})
    await checkpoint.prune({})
    saved = await _checkpointed(store, "pbx1")
    assert list(saved) == ["pbx1-3", "pbx1-4"] and saved["pbx1-4"]["HangupEventId"] == "pbx1-4:h"
    warnings = [r for r in caplog.records if "not stored yet" in r.getMessage()]
    assert len(warnings) == 1
    checkpoint.stored.update({"pbx1-3:h", "pbx1-4:h"})
    await checkpoint.prune({})
    assert await _checkpointed(store, "pbx1") == {}


async def test_the_outbox_keeps_the_newest_max_outbox_messages_until_acknowledged(
        store: LeaseStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from cacofonisk.cluster import checkpoint as module

    monkeypatch.setattr(module, "MAX_OUTBOX", 2)
    checkpoint = module.Checkpoint(store, "pbx1", "w1", 1)
    await checkpoint.load()
    messages = [{"id": f"pbx1/m{n}", "subject": "s", "data": "{}"} for n in range(4)]
    checkpoint.handing_on((), messages)
    acks = [checkpoint.stored_callback(msg_id=m["id"]) for m in messages]
    assert await checkpoint.write_ahead({})
    saved = await store.read_checkpoint("pbx1")
    assert [m["id"] for m in saved.outbox] == ["pbx1/m2", "pbx1/m3"]
    assert list(checkpoint.outbox) == ["pbx1/m2", "pbx1/m3"]  # not kept in memory either
    acks[3]()
    await asyncio.sleep(0.01)  # the callback comes through the loop
    await checkpoint.prune({}, now=True)
    assert [m["id"] for m in (await store.read_checkpoint("pbx1")).outbox] == ["pbx1/m2"]


async def test_a_server_that_refuses_the_login_is_released_not_held(
        store: LeaseStore, tmp_path: Path) -> None:
    """Holding its lease would keep every other worker from trying it."""
    from cacofonisk.cluster.worker import ClusterSettings, ClusterWorker
    from cacofonisk.commands.demo import answered_call
    from cacofonisk.testing.ami_server import AmiTestServer

    url = store._js._nc.connected_url.geturl()
    async with AmiTestServer(answered_call(0), username="u", secret="right") as srv:
        worker = ClusterWorker(
            ClusterSettings(urls=(url,), bucket="refused", lease_ttl=2.0, worker_id="w1"),
            [{"name": "pbx1", "host": srv.host, "port": srv.port, "username": "u",
              "password": "wrong"}], _Hooks())
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(100):
                if "pbx1" in worker._cool:
                    break
                await asyncio.sleep(0.05)
            assert "pbx1" in worker._cool and "pbx1" not in worker.followers
            other = LeaseStore(store._js, "refused", 2.0, 10.0)
            await other.open(create=False)
            assert "pbx1" not in (await other.view()).leases
        finally:
            worker.stop()
            await task


async def test_workers_must_agree_on_the_lease_ttl(store: LeaseStore) -> None:
    other = LeaseStore(store._js, "leases", 5.0, 10.0)
    with pytest.raises(ConfigurationError, match="--lease-ttl"):
        await other.open()


# -- command line ------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cacofonisk", *args], capture_output=True,
                          text=True, timeout=60)


def test_cluster_status_without_nats_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = nats_server.free_port()  # nobody listens there
    result = _cli("cluster", "status", "--cluster", f"nats://127.0.0.1:{port}")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "cannot reach NATS" in result.stderr


def test_listen_cluster_with_a_bad_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "servers.toml"
    config.write_text('[servers.pbx1]\nhost = "127.0.0.1"\nusername = "u"\n'
                      'password = "p"\n')
    config.chmod(0o600)
    result = _cli("listen", "--cluster", "http://127.0.0.1:4222", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--cluster: expected nats://" in result.stderr

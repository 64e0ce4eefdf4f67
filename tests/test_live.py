"""The whole live pipeline over loopback: AMI test server -> AmiRunner -> the
REAL ChannelManager -> reporters, and the ``listen`` / ``demo`` commands.

Why these tests exist beside test_ami_runner.py (fake manager): what a user
gets from a live server must be exactly what a replay of the same log gives
(the wire, panoramisk's parser and the runner's hold/resync must not change
a single call event), and the CLI must stop cleanly and keep secrets out of
sight.

Exit status of ``cacofonisk listen`` on SIGTERM/SIGINT: 0. The signal is
the normal way to stop a listener (systemd, Ctrl-C) and the runner handles
it (logoff, reporter closed once, recording complete), so it is a success,
not a death by signal (143).
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conformance import SKIP_REASON, Ami1Recorder, Ami2Projector, logs, replay

from runner_helpers import running as _running
from cacofonisk import ChannelManager
from cacofonisk.calls import CallEvent, Hangup
from cacofonisk.cli import build_parser
from cacofonisk.commands import demo, listen, server_config
from cacofonisk.errors import AuthenticationFailed, ConfigurationError
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.resync import GONE_WHILE_AWAY
from cacofonisk.runners.ami_runner import AmiRunner
from cacofonisk.testing.ami_server import AmiTestServer

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # seconds a live run may take on a busy 2-core machine before it fails
SECRET = "Live-s3cr3t-xyzzy"
FAST: dict[str, Any] = {"reconnect_delay": 0.05, "reconnect_max_delay": 0.2,
                        "ping_interval": 5.0, "ping_timeout": 2.0, "action_timeout": 3.0}
AMI1 = logs("conformance/ami1")
AMI2 = logs("conformance/ami2")
PROJECTORS: dict[str, type[BaseReporter]] = {"ami1": Ami1Recorder, "ami2": Ami2Projector}

def running(runner: AmiRunner) -> contextlib.AbstractAsyncContextManager[asyncio.Task[None]]:
    return _running(runner, TIMEOUT)



CONSUMED = {name.lower() for name in ChannelManager.INTERESTING_EVENTS}


class Tap(BaseReporter):
    """Everything one runner reports: whole records, the conformance projection
    per server, and how many AMI events the managers applied."""

    def __init__(self, projector: type[BaseReporter] = Ami2Projector) -> None:
        self.records: list[CallEvent] = []
        self._projector = projector
        self.projections: dict[str, Any] = {}
        self.applied = 0
        self.closed = 0
        self.changed = asyncio.Event()

    def on_call_event(self, record: CallEvent) -> None:
        self.records.append(record)
        projection = self.projections.setdefault(record.server, self._projector())
        projection.on_call_event(record)
        self.changed.set()

    def on_event(self, event: Any) -> None:
        # only the events the manager consumes: a recording reporter beside
        # this one makes the runner hand every event over (sees_raw_events)
        self.applied += str(event.get("Event", "")).lower() in CONSUMED
        self.changed.set()

    def close(self) -> None:
        self.closed += 1

    def of(self, server: str) -> list[CallEvent]:
        return [r for r in self.records if r.server == server]

    async def until(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


def comparable(records: Sequence[CallEvent]) -> list[dict[str, Any]]:
    """Records as dicts without the server name (a file replay has none)."""
    return [{k: v for k, v in r.as_dict().items() if k != "server"} for r in records]


def file_replay(path: Path, projector: type[BaseReporter]) -> tuple[Any, list[CallEvent]]:
    """The projection and the records FileRunner gives for one log."""
    tap = Tap(projector)
    replay(path, tap)
    return tap.projections.get("", projector()), tap.records


def host(srv: AmiTestServer, name: str, **more: Any) -> dict[str, Any]:
    return {"host": srv.host, "port": srv.port, "username": "u", "password": SECRET,
            "name": name, **more}


def applied_when_done(events: Sequence[Any], servers: int = 1) -> int:
    """Events the managers apply for a whole log: the log's interesting events
    plus the FullyBooted the test server sends at each login."""
    return demo.expected_events(events) + servers



async def live_replay(path: Path, projector: type[BaseReporter],
                      gate: asyncio.Semaphore) -> tuple[Any, list[CallEvent]]:
    """One log served live, as fast as the server can, through a real runner."""
    events = json.loads(path.read_text())
    async with gate, AmiTestServer(events, secret=SECRET) as srv:
        tap = Tap(projector)
        runner = AmiRunner(host(srv, path.stem), tap, **FAST)
        async with running(runner):
            await tap.until(lambda: tap.applied >= applied_when_done(events))
        assert tap.closed == 1
        return tap.projections.get(path.stem, projector()), tap.records


# -- a quiet server does not delay on_b_dial ----------------------------------------

async def test_a_ring_is_reported_while_the_server_is_quiet_not_at_its_next_event():
    """The manager holds a 2+ ring for its dial burst; the runner's idle flush
    must report it while the phone is still ringing and nothing else comes."""
    from ami2_builder import Ami2
    story = (Ami2().channel("a", "201", exten="202").state("a", 4)
             .channel("b", "202", linked="a").dial("a", "b").state("b", 5))
    ringing_at = len(story.events)
    story.state("b", 6).dial_end("a", "b").state("a", 6).bridge("br", "b", "a")
    story.hangup("b").hangup("a")
    async with AmiTestServer(story.events, secret=SECRET, start_paused=True) as srv:
        srv.pause(after=ringing_at)
        srv.resume()
        tap = Tap()
        runner = AmiRunner(host(srv, "quiet"), tap, idle_flush=0.1, **FAST)
        async with running(runner):
            await tap.until(lambda: any(r.HOOK == "on_b_dial" for r in tap.records), timeout=5)
            assert srv.sent <= ringing_at + 1  # the answer was never sent
            srv.resume()
            await tap.until(lambda: any(r.HOOK == "on_hangup" for r in tap.records))
        assert [r.HOOK for r in tap.records] == ["on_b_dial", "on_b_dial_end", "on_up",
                                                 "on_hangup"]


# -- every shared recording: live == replay -----------------------------------------

@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
async def test_every_recording_gives_the_same_call_events_live_as_replayed(dialect):
    paths = AMI1 if dialect == "ami1" else AMI2
    if not paths:
        pytest.skip(SKIP_REASON)
    projector = PROJECTORS[dialect]
    gate = asyncio.Semaphore(16)  # concurrent, but not 56 sockets at once
    results = await asyncio.gather(*(live_replay(p, projector, gate) for p in paths))
    mismatches = []
    for path, (live_projection, live_records) in zip(paths, results):
        file_projection, file_records = file_replay(path, projector)
        if (live_projection.events != file_projection.events
                or comparable(live_records) != comparable(file_records)):
            mismatches.append(path.name)
        assert all(r.server == path.stem for r in live_records)
    assert not mismatches, f"live differs from replay for {mismatches}"


def test_the_wire_loses_no_split_character_and_no_empty_last_header_and_adds_no_content():
    """What panoramisk's own parser drops; a live stream would differ from its log."""
    from cacofonisk.runners.ami_protocol import _Panoramisk, _Protocol

    got: list[Any] = []
    protocol = _Protocol()
    protocol.connection_made(None)
    protocol.factory = _Panoramisk(lambda pano: None, lambda pano, event: got.append(event))
    data = ("Asterisk Call Manager/5.0.0\r\nEvent: UserEvent\r\nCallerIDName: J\u00f6rg\r\n"
            "WebhookUrls: \r\n\r\nEvent: Newstate\r\n\r\n"
            "Event: VarSet\r\nValue: \r\nValue: x\r\n\r\n").encode()
    split = data.index("\u00f6".encode()) + 1  # inside the two bytes of the o-umlaut
    protocol.data_received(data[:split])
    protocol.data_received(data[split:])
    assert protocol.version == "5.0.0"
    assert got == [  # plain dicts, and no empty 'content' key Asterisk never sent
        {"Event": "UserEvent", "CallerIDName": "J\u00f6rg", "WebhookUrls": ""},
        {"Event": "Newstate"},
        {"Event": "VarSet", "Value": ["", "x"]}]  # through panoramisk: a repeated header
    assert all(type(event) is dict for event in got)


class RawTap(Tap):
    """A Tap that also keeps every raw event its ``on_event`` is given."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[Any] = []

    def on_event(self, event: Any) -> None:
        self.raw.append(event)
        super().on_event(event)


async def test_a_reporter_gets_each_live_event_as_the_plain_dict_a_replay_gives():
    """``trace_ami``/``on_event`` get a plain dict with Asterisk's header names,
    live as in a replay (not panoramisk's case-insensitive Message)."""
    events = json.loads((ROOT / "scenarios" / "ami2" / "blind_transfer.json").read_text())

    tap = RawTap()
    async with AmiTestServer(events, secret=SECRET) as srv:
        async with running(AmiRunner(host(srv, "raw"), tap, **FAST)):
            await tap.until(lambda: tap.applied >= applied_when_done(events))
    assert all(type(event) is dict for event in tap.raw)
    live = [event for event in tap.raw if event["Event"] != "FullyBooted"]
    # a reporter that looks at raw events gets every one (no skip by name)
    assert live == [e for e in events if e["Event"] != "FullyBooted"]
    assert "uniqueid" not in live[0] and "Uniqueid" in live[0]  # case-sensitive, as replayed


async def test_a_resyncs_list_answers_reach_the_reporter_as_plain_dicts_too():
    """The answers panoramisk parses (CoreShowChannels ...) are copied to dicts."""
    events = json.loads((ROOT / "scenarios" / "ami2" / "answered.json").read_text())

    tap = RawTap()
    async with AmiTestServer(events, secret=SECRET) as srv:
        runner = AmiRunner(host(srv, "raw"), tap, resync_on_first_connect=True, **FAST)
        async with running(runner):
            await tap.until(lambda: any(e.get("Event") == "CoreShowChannelsComplete"
                                        for e in tap.raw))
    assert tap.raw and all(type(event) is dict for event in tap.raw)


# -- two servers at once ---------------------------------------------------------------

LEFT = ("ami1", "connectab__cmn-world-world.json")
RIGHT = ("ami2", "xfer_blonde__xfer_blonde_group_a.json")


async def test_two_servers_in_one_runner_interleave_and_keep_their_own_calls():
    paths = {name: [p for p in (AMI1 if d == "ami1" else AMI2) if p.name == log]
             for name, (d, log) in (("left", LEFT), ("right", RIGHT))}
    if not all(paths.values()):
        pytest.skip(SKIP_REASON)
    logs_ = {name: json.loads(found[0].read_text()) for name, found in paths.items()}
    tap = Tap(Ami2Projector)
    # Same duration for both (~0.4 s), so their calls overlap in time.
    async with AmiTestServer(logs_["left"], secret=SECRET, rate=len(logs_["left"]) / 0.4) as a, \
            AmiTestServer(logs_["right"], secret=SECRET,
                          rate=len(logs_["right"]) / 0.4) as b:
        runner = AmiRunner([host(a, "left"), host(b, "right")], tap, **FAST)
        want = sum(applied_when_done(events) for events in logs_.values())
        async with running(runner):
            await tap.until(lambda: tap.applied >= want)
        assert [m.dialect for m in runner.channel_managers] == ["ami1", "ami2"]
    for name, found in paths.items():
        file_projection, file_records = file_replay(found[0], Ami2Projector)
        assert tap.projections[name].events == file_projection.events, name
        assert comparable(tap.of(name)) == comparable(file_records), name
    servers = [r.server for r in tap.records]
    assert set(servers) == {"left", "right"}
    switches = sum(1 for x, y in itertools.pairwise(servers) if x != y)
    assert switches >= 3, f"the two streams did not interleave: {servers}"


# -- a dropped connection, then resync ----------------------------------------------------

async def test_dropped_connection_mid_call_ends_missed_calls_by_resync_without_duplicates():
    first, second = demo.answered_call(0), demo.answered_call(1, ("203", "Carol"),
                                                             ("204", "Dave"))
    up = 10  # both parties bridged: the call is up
    log = first[:up] + second[:up] + first[up:] + second[up:]
    first_id, second_id = first[0]["Uniqueid"], second[0]["Uniqueid"]
    tap = Tap()
    async with AmiTestServer(log, secret=SECRET) as srv:
        srv.pause(after=2 * up)
        runner = AmiRunner(host(srv, "pbx"), tap, **FAST)
        (manager,) = runner.channel_managers
        async with running(runner):
            await tap.until(lambda: tap.applied >= applied_when_done(log[:2 * up]))
            assert [r.HOOK for r in tap.records if r.call_id == second_id][-1] == "on_up"
            srv.skip(len(first) - up)  # the first call ends while we are away ...
            await srv.drop_connections()
            # ... and the resync after the reconnect tells it honestly
            await tap.until(lambda: any(isinstance(r, Hangup) for r in tap.records))
            assert runner.health()["pbx"]["reconnects"] == 1
            srv.resume()
            await tap.until(lambda: sum(isinstance(r, Hangup) for r in tap.records) == 2)
            await tap.until(lambda: manager.is_idle())
    assert srv.logins == ["u", "u"] and "CoreShowChannels" in srv.actions
    hooks = {cid: [r.HOOK for r in tap.records if r.call_id == cid]
             for cid in (first_id, second_id)}
    assert hooks[first_id] == ["on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]
    assert hooks[second_id] == ["on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]
    gone, normal = (next(r for r in tap.records if isinstance(r, Hangup) and r.call_id == c)
                    for c in (first_id, second_id))
    assert (gone.reason, gone.hangup_by) == ("completed", GONE_WHILE_AWAY)
    assert (normal.reason, normal.hangup_by) == ("completed", "caller")
    assert tap.closed == 1


# -- a bad secret ----------------------------------------------------------------------

async def test_bad_secret_fails_once_without_a_retry_storm():
    async with AmiTestServer(demo.answered_call(), secret="the-right-one") as srv:
        tap = Tap()
        runner = AmiRunner(host(srv, "pbx"), tap, **FAST)
        started = time.monotonic()
        with pytest.raises(AuthenticationFailed) as info:
            await asyncio.wait_for(runner.run_async(), TIMEOUT)
        assert time.monotonic() - started < 2.0
        await asyncio.sleep(0.5)  # ten reconnect delays: nothing may come back
        assert srv.actions.count("Login") == 1 and srv.logins == []
    assert "'pbx'" in str(info.value) and SECRET not in str(info.value)
    assert tap.closed == 1


async def cacofonisk(*args: str, env: dict[str, str] | None = None
                     ) -> asyncio.subprocess.Process:
    """``python -m cacofonisk ARGS`` as a user runs it, pipes on stdout/stderr."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CACOFONISK_AMI")}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                          full_env.get("PYTHONPATH")]))
    full_env.update(env or {})
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cacofonisk", *args, cwd=str(ROOT), env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def read_until(stream: asyncio.StreamReader, done: Callable[[list[str]], bool],
                     timeout: float = TIMEOUT) -> list[str]:
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while not done(lines):
            line = await stream.readline()
            if not line:
                break
            lines.append(line.decode())
    return lines


async def test_listen_with_a_bad_secret_says_so_in_one_line_and_exits_2():
    async with AmiTestServer(demo.answered_call(), secret="the-right-one") as srv:
        proc = await cacofonisk("listen", "--host", f"tcp://u@{srv.host}:{srv.port}?name=pbx9",
                                env={"CACOFONISK_AMI_PASSWORD": SECRET})
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 2
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert "pbx9" in lines[0] and "refused the login" in lines[0]
    assert SECRET not in (out + err).decode()
    assert srv.actions.count("Login") == 1


# -- SIGTERM while recording -----------------------------------------------------------

def plain(event: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(event).items() if not (k == "content" and v == "")}


async def test_sigterm_while_recording_leaves_a_valid_file_with_the_events_so_far(tmp_path):
    log = demo.answered_call(0) + demo.answered_call(1)
    hangup_at = next(i for i, e in enumerate(log) if e["Event"] == "Hangup") + 1
    record = tmp_path / "rec.json"
    async with AmiTestServer(log, secret=SECRET) as srv:
        srv.pause(after=hangup_at)  # the first call's caller just hung up
        proc = await cacofonisk("listen", "--host", f"tcp://u@{srv.host}:{srv.port}",
                                "--record", str(record),
                                env={"CACOFONISK_AMI_PASSWORD": SECRET})
        assert proc.stdout is not None and proc.stderr is not None
        # The hangup line is printed once its event was applied, so every
        # event sent so far is in the recorder: the point to stop at.
        lines = await read_until(proc.stdout, lambda ls: any(
            line.startswith("hangup") for line in ls))
        assert srv.sent == hangup_at
        proc.send_signal(signal.SIGTERM)
        rest, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            while srv.clients:  # it logged off and closed
                await asyncio.sleep(0.01)
        assert srv.actions[-1] == "Logoff"
    assert proc.returncode == 0, err.decode()
    assert [line.split()[0] for line in lines] == ["b_dial", "b_dial_end", "up", "hangup"]
    assert not rest
    recorded = json.loads(record.read_text())
    assert recorded[0]["Event"] == "FullyBooted"  # the server's, at login
    # a recording holds every event Asterisk sent, not only those the
    # manager consumes (issue 11 item 3): no server-side filter, no skip
    assert [plain(e) for e in recorded[1:]] == log[:hangup_at]
    assert any(e["Event"] not in ChannelManager.INTERESTING_EVENTS for e in log[:hangup_at])
    assert "Filter" not in srv.actions
    assert SECRET not in err.decode()


async def test_listen_to_two_servers_from_a_config_file_stops_on_sigint(tmp_path):
    secret_file = tmp_path / "right.secret"
    secret_file.write_text("right-secret\n")
    secret_file.chmod(0o600)
    async with AmiTestServer(demo.answered_call(0, system="l"), secret="left-secret") as a, \
            AmiTestServer(demo.answered_call(0, system="r"), secret="right-secret") as b:
        config = tmp_path / "servers.toml"
        config.write_text(f"""
[servers.left]
host = "{a.host}"
port = {a.port}
username = "u"
password_env = "LEFT_AMI_SECRET"

[servers.r]
name = "right"
host = "{b.host}"
port = {b.port}
username = "u"
password_file = "{secret_file}"

[runner]
ping_interval = 2
""")
        proc = await cacofonisk("listen", "--config", str(config), "--format", "jsonl",
                                env={"LEFT_AMI_SECRET": "left-secret"})
        assert proc.stdout is not None
        lines = await read_until(proc.stdout, lambda ls: sum(
            '"on_hangup"' in line for line in ls) == 2)
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 0, err.decode()
    records = [json.loads(line) for line in lines]
    assert {r["server"] for r in records} == {"left", "right"}
    for server in ("left", "right"):
        assert [r["event"] for r in records if r["server"] == server] == [
            "on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]
    assert "secret" not in err.decode()


# -- the demo ----------------------------------------------------------------------------

async def test_demo_runs_a_whole_live_pipeline_and_exits_0():
    started = time.monotonic()
    proc = await cacofonisk("demo")
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT + 10)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, err.decode()
    kinds = [line.split()[0] for line in out.decode().splitlines()]
    assert {"b_dial", "up", "hangup"} <= set(kinds), out.decode()
    assert kinds[-1] == "hangup"
    assert "127.0.0.1:" in err.decode()
    assert elapsed < 12, f"the demo took {elapsed:.1f} s"


async def test_demo_falls_back_to_its_built_in_call(monkeypatch):
    monkeypatch.setattr(demo, "CHECKOUT_SCENARIOS", Path("/nonexistent"))
    monkeypatch.setattr(demo, "_simulator", lambda: None)  # an install without it
    label, events = demo.load_scenario(demo.DEFAULT_SCENARIO)
    assert "built in" in label and events == demo.answered_call()
    with pytest.raises(ConfigurationError, match="unknown scenario"):
        demo.load_scenario("attended_transfer")
    tap = Tap()
    outcome = await demo.run_demo(events, tap, rate=None, seconds=TIMEOUT, announce=False)
    assert outcome == "completed"
    assert [r.HOOK for r in tap.records] == ["on_b_dial", "on_b_dial_end", "on_up",
                                             "on_hangup"]
    assert tap.closed == 1


# -- where listen finds servers and secrets ----------------------------------------------

def listen_args(*argv: str) -> Any:
    return build_parser().parse_args(["listen", *argv])


def test_hosts_from_the_command_line_take_their_secrets_from_env_or_file(tmp_path):
    secret_file = tmp_path / "two.secret"
    secret_file.write_text("file-secret\n")
    args = listen_args("--password-env", "ALL", "--host", "tcp://u@h1:5038",
                       "--host", "tcp://v@h2:6000?name=two&auth=md5",
                       "--password-file", str(secret_file),
                       "--host", "tcp://w@h3", "--password-env", "THREE")
    hosts, options = server_config.resolve_hosts(args, {"ALL": "all-secret", "THREE": "3"})
    assert [(h["name"], h["username"], h["password"]) for h in hosts] == [
        ("h1:5038", "u", "all-secret"), ("two", "v", "file-secret"), ("h3:5038", "w", "3")]
    assert hosts[1]["auth"] == "md5" and options == {}
    hosts, _ = server_config.resolve_hosts(listen_args("--host", "tcp://u@h1"),
                                    {server_config.ENV_PASSWORD: "default"})
    assert hosts[0]["password"] == "default"


def test_a_password_on_the_command_line_is_refused_without_echoing_it():
    with pytest.raises(ConfigurationError) as info:
        server_config.resolve_hosts(listen_args("--host", f"tcp://u:{SECRET}@h1:5038"), {})
    assert SECRET not in str(info.value) and "***" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        server_config.resolve_hosts(listen_args("--host", "tcp://u@h1", "--password-env", "NOPE"),
                             {})
    assert "$NOPE is not set" in str(info.value) and "'h1:5038'" in str(info.value)
    with pytest.raises(ConfigurationError, match="no AMI server"):
        server_config.resolve_hosts(listen_args(), {})


def test_hosts_from_the_environment_may_carry_their_passwords():
    env = {server_config.ENV_HOSTS: "tcp://u:p%40ss@h1:5038?name=a, tcp://v@h2:5039",
           server_config.ENV_PASSWORD: "fallback"}
    hosts, _ = server_config.resolve_hosts(listen_args(), env)
    assert [(h["name"], h["password"]) for h in hosts] == [("a", "p@ss"),
                                                           ("h2:5039", "fallback")]


def test_config_file_sections_and_their_mistakes(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[servers.pbx1]\nhost = "10.0.0.5"\nusername = "ami"\n'
                      'password = "inline"\n[runner]\nping_interval = 3\n')
    hosts, options = server_config.resolve_hosts(listen_args("--config", str(config)), {})
    assert hosts == [{"host": "10.0.0.5", "username": "ami", "name": "pbx1",
                      "password": "inline"}]
    assert options == {"ping_interval": 3}
    config.write_text('[servers.pbx1]\nhost = "h"\nusername = "u"\npasword_env = "X"\n')
    with pytest.raises(ConfigurationError, match="unknown key"):
        server_config.resolve_hosts(listen_args("--config", str(config)), {})
    config.write_text("[servers.pbx1\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        server_config.resolve_hosts(listen_args("--config", str(config)), {})

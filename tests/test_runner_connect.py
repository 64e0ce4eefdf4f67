"""Reaching a server: what a user sees when nothing answers, when the peer is
not AMI, which dialect the banner declares, and host entries that are wrong.

Real sockets on loopback: the project's test AMI server, a plain TCP server
that speaks something else, and a port where nothing listens.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from runner_helpers import eventually as _eventually, running as _running
from cacofonisk.errors import ConfigurationError, GaveUpConnecting
from cacofonisk.manager import ChannelManager
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.runners.ami_runner import AmiHost, AmiRunner
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.testing.scenarios import build

TIMEOUT = 10.0
SECRET = "Conn-s3cr3t"
FAST: dict[str, Any] = {"reconnect_delay": 0.01, "reconnect_max_delay": 0.02,
                        "connect_timeout": 2.0, "action_timeout": 2.0, "banner_timeout": 2.0}

def running(runner: AmiRunner) -> contextlib.AbstractAsyncContextManager[asyncio.Task[None]]:
    return _running(runner, TIMEOUT)


async def eventually(predicate: Callable[[], bool]) -> None:
    await _eventually(predicate, TIMEOUT, poll=0.01)



def free_port() -> int:
    """A loopback port where nothing listens (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(port: int, **more: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "username": "u", "password": SECRET,
            "name": "pbx", **more}




@contextlib.asynccontextmanager
async def not_ami(greeting: bytes | None) -> AsyncIterator[int]:
    """A TCP server that greets with ``greeting`` (None: says nothing)."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if greeting is not None:
            writer.write(greeting)
        with contextlib.suppress(ConnectionError):
            await reader.read(1 << 16)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def test_nothing_listening_says_retrying_with_the_reason_and_counts_failures(caplog):
    caplog.set_level(logging.WARNING)
    runner = AmiRunner(config(free_port()), BaseReporter(), **FAST)
    async with running(runner):
        await eventually(lambda: runner.health()["pbx"]["connect_failures"] >= 3)
    figures = runner.health()["pbx"]
    assert figures["connected"] is False and figures["failures_in_a_row"] >= 3
    said = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(said) >= 3
    assert all("connection refused" in line for line in said), said
    assert not any("server 'pbx': server" in line for line in said)  # no repeated prefix
    from cacofonisk.commands.listen import format_health
    assert f"connect_failures={figures['connect_failures']}" in format_health(
        {"pbx": figures})


@pytest.mark.parametrize("greeting,expected", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "is not an AMI server: it greeted with 'SSH-2.0-OpenSSH_9.2'"),
    (b"\x16\x03\x01\x02\x00garbage" * 40, "is not an AMI server"),
    (None, "sent no AMI banner within 0.3 s"),
])
async def test_a_peer_that_is_not_ami_is_named_fast_not_after_a_login_timeout(
        caplog, greeting, expected):
    caplog.set_level(logging.WARNING)
    async with not_ami(greeting) as port:
        runner = AmiRunner(config(port), BaseReporter(),
                           **{**FAST, "banner_timeout": 0.3, "action_timeout": 30.0,
                              "reconnect_delay": 5.0, "reconnect_max_delay": 5.0})
        async with running(runner):
            # the login timeout (30 s) would be far beyond the eventually() deadline
            await eventually(lambda: runner.health()["pbx"]["connect_failures"] >= 1)
    said = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert said and expected in said[0], said


async def test_give_up_after_n_failed_first_attempts_raises_one_clear_error():
    runner = AmiRunner(config(free_port()), BaseReporter(), give_up_after=3, **FAST)
    with pytest.raises(GaveUpConnecting) as caught:
        await asyncio.wait_for(runner.run_async(), TIMEOUT)
    message = str(caught.value)
    assert "gave up after 3 attempts" in message and "connection refused" in message
    assert "\n" not in message
    assert runner.health()["pbx"]["connect_failures"] == 3


def test_give_up_after_must_be_a_positive_whole_number():
    for wrong in (0, -1, 2.5, "3"):
        with pytest.raises(ConfigurationError, match="give_up_after"):
            AmiRunner(config(1), BaseReporter(), give_up_after=wrong)


async def test_listen_give_up_after_exits_2_with_one_line():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cacofonisk", "listen", "--host",
        f"tcp://u@127.0.0.1:{free_port()}?name=typo", "--give-up-after", "1",
        env={"CACOFONISK_AMI_PASSWORD": SECRET, "PATH": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    lines = err.decode().splitlines()
    assert proc.returncode == 2, (out, err)
    assert len(lines) == 1 and "gave up after 1 attempt" in lines[0], lines
    assert "typo" in lines[0] and SECRET not in lines[0]


class Declared(ChannelManager):
    """A ChannelManager that notes what the runner declared."""

    declared: list[str] = []

    def declare_dialect(self, name: str) -> None:
        Declared.declared.append(name)
        super().declare_dialect(name)


@pytest.mark.parametrize("banner,dialect", [("1.1", "ami1"), ("1.3", "ami1"),
                                            ("2.10.3", "ami2"), ("5.0.0", "ami2")])
async def test_the_banner_declares_the_dialect_before_any_event(banner, dialect):
    Declared.declared = []
    # an AMI 1 style stream with a stray 2+ event first: detection alone would guess ami2
    events = [{"Event": "BridgeEnter", "BridgeUniqueid": "x"},
              *build("answered", "ami1").events]
    async with AmiTestServer(events, secret=SECRET, banner=banner) as srv:
        runner = AmiRunner(config(srv.port), BaseReporter(), channel_manager=Declared, **FAST)
        (manager,) = runner.channel_managers
        async with running(runner):
            await eventually(srv.finished.is_set)
    assert Declared.declared == [dialect] and manager.dialect == dialect


@pytest.mark.parametrize("version,dialect", [("1.1", "ami1"), ("5.0.0", "ami2")])
async def test_a_banner_without_version_lets_core_settings_declare_the_dialect(version, dialect):
    Declared.declared = []
    events = list(build("answered", "ami2").events)
    async with AmiTestServer(events, secret=SECRET, banner=version, bare_banner=True) as srv:
        runner = AmiRunner(config(srv.port), BaseReporter(), channel_manager=Declared, **FAST)
        async with running(runner):
            await eventually(lambda: bool(Declared.declared) and srv.finished.is_set())
    assert "CoreSettings" in srv.actions and Declared.declared == [dialect]


@pytest.mark.parametrize("value,wrong", [
    ({"host": "h", "username": "u", "password": "p", "hostname": "x"}, "'hostname'"),
    ({"host": "h", "username": "u", "pasword": "p", "password": "p"}, "'pasword'"),
    ("tcp://u:p@h:5038?name=a&aut=md5", "'aut'"),
    ("tcp://u:p@h:5038?timeout=3", "'timeout'"),
])
def test_unknown_keys_in_host_dicts_and_urls_are_refused_naming_the_valid_ones(value, wrong):
    with pytest.raises(ConfigurationError) as caught:
        AmiHost.parse(value)
    message = str(caught.value)
    assert wrong in message and "valid:" in message and "AMI host #1" in message
    assert "p@" not in message

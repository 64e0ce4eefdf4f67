"""``--http`` on the command line: address and token rules, one-line errors, and a
real ``cacofonisk demo --http`` serving the API while its calls run."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cacofonisk.cli import main
from cacofonisk.errors import ConfigurationError
from cacofonisk.web.options import ENV_TOKEN, from_args, is_loopback, parse_address


class Args:
    def __init__(self, http: str | None, http_token_file: str | None = None) -> None:
        self.http = http
        self.http_token_file = http_token_file


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:8088", ("127.0.0.1", 8088)), ("localhost:0", ("localhost", 0)),
    ("[::1]:9000", ("::1", 9000)), ("0.0.0.0:80", ("0.0.0.0", 80))])
def test_http_address_is_host_colon_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["8088", "host:", ":8088", "host:http", "host:70000", ""])
def test_a_bad_http_address_names_the_expected_form(text: str) -> None:
    with pytest.raises(ConfigurationError, match="expected HOST:PORT"):
        parse_address(text)


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.8.9.1", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.0.2.7", "::", "pbx.example"]))


def test_loopback_needs_no_token_but_elsewhere_refuses_to_start_without_one() -> None:
    assert from_args(Args("127.0.0.1:8088"), environ={}).token is None
    with pytest.raises(ConfigurationError, match="--http-token-file PATH or set"):
        from_args(Args("0.0.0.0:8088"), environ={})


def test_token_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-the-file\nignored\n")
    token_file.chmod(0o600)
    assert from_args(Args("0.0.0.0:1", str(token_file)), environ={}).token == "from-the-file"
    assert from_args(Args("0.0.0.0:1"), environ={ENV_TOKEN: "from-env"}).token == "from-env"
    assert "from-env" not in repr(from_args(Args("0.0.0.0:1"), environ={ENV_TOKEN: "from-env"}))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigurationError, match="empty"):
        from_args(Args("0.0.0.0:1", str(empty)), environ={})
    with pytest.raises(ConfigurationError, match="cannot read"):
        from_args(Args("0.0.0.0:1", str(tmp_path / "missing")), environ={})


def test_token_file_without_http_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="needs --http"):
        from_args(Args(None, "/some/file"), environ={})


@pytest.mark.parametrize("argv,message", [
    (["demo", "--http", "nonsense"], "expected HOST:PORT"),
    (["demo", "--http", "0.0.0.0:8088"], "needs a token"),
    (["listen", "--host", "tcp://u@127.0.0.1:1", "--http", "127.0.0.1:99999"],
     "expected HOST:PORT"),
])
def test_bad_http_options_give_one_line_and_exit_2(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACOFONISK_AMI_PASSWORD", "x")
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_http_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["demo", "--http", f"127.0.0.1:{port}", "--rate", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"127.0.0.1:{port}: cannot listen (the address is in use)" in err
    assert "Traceback" not in err


def _get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return response.status, json.loads(response.read())


def test_demo_with_http_serves_the_api_while_its_calls_run_and_stops_on_sigint() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(ENV_TOKEN, None)
    proc = subprocess.Popen([sys.executable, "-m", "cacofonisk", "demo", "--http",
                             "127.0.0.1:0", "--scenario", "answered", "--rate", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        url = None
        for _ in range(20):
            line = proc.stderr.readline()
            found = re.search(r"HTTP API on (http://\S+/)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "the demo did not say where the board is"
        seen_states: set[str] = set()
        for _ in range(200):  # the scenario runs at 8 events/s
            status, body = _get(url + "calls")
            assert status == 200
            seen_states.update(c["state"] for c in body["calls"])  # type: ignore[attr-defined]
            if "up" in seen_states:
                break
            time.sleep(0.1)
        assert "up" in seen_states
        out_line = proc.stdout.readline()
        assert out_line.startswith("b_dial")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        finally:
            proc.kill()
    assert proc.returncode == 0


def test_listen_with_http_serves_the_live_servers_calls_and_health() -> None:
    from browser import LoopThread

    from cacofonisk.commands.demo import answered_call
    from cacofonisk.testing.ami_server import AmiTestServer

    events = answered_call(0, system="pbx1")
    loop = LoopThread()
    srv = AmiTestServer(events, username="lsn", secret="pw", port=0)
    srv.pause(after=10)  # the call is up, and stays up
    loop.run(srv.start())
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CACOFONISK_AMI_PASSWORD": "pw"}
    env.pop(ENV_TOKEN, None)
    proc = subprocess.Popen([sys.executable, "-m", "cacofonisk", "listen", "--host",
                             f"tcp://lsn@127.0.0.1:{srv.port}?name=pbx1", "--http",
                             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stderr is not None
        url = None
        for _ in range(20):
            found = re.search(r"HTTP API on (http://\S+/)", proc.stderr.readline())
            if found:
                url = found.group(1)
                break
        assert url is not None, "listen did not say where the board is"
        calls: list[dict[str, object]] = []
        for _ in range(100):
            calls = _get(url + "calls")[1]["calls"]  # type: ignore[assignment]
            if calls and calls[0]["state"] == "up":  # the 10 events may still be arriving
                break
            time.sleep(0.1)
        assert [(c["server"], c["state"]) for c in calls] == [("pbx1", "up")]
        status, health = _get(url + "health")
        assert status == 200
        assert health["servers"]["pbx1"]["connected"] is True  # type: ignore[index]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        finally:
            proc.kill()
            loop.run(srv.close())
            loop.close()
    assert proc.returncode == 0


def test_the_cli_and_the_library_do_not_import_aiohttp_unless_http_is_asked_for() -> None:
    code = ("import sys, cacofonisk, cacofonisk.cli, cacofonisk.web, cacofonisk.web.options;"
            "cacofonisk.cli.build_parser(); print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('aiohttp', 'selenium')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"

"""The HTTP API of the live view, over a real loopback server and real managers."""
from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from cacofonisk.commands.demo import answered_call
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.web.app import LiveView
from web_helpers import UP_AFTER, client_for, fed_manager, read_sse

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CALL0 = "pbx1-1700000000.0"


async def test_calls_lists_every_call_in_flight_with_its_parties() -> None:
    view = LiveView()
    fed_manager(view, calls=3)
    async with client_for(view) as client:
        response = await client.get("/calls")
        assert response.status == 200
        body = await response.json()
    assert body["count"] == 3 and body["servers"] == ["pbx1"]
    first = next(c for c in body["calls"] if c["call_id"] == CALL0)
    assert first["server"] == "pbx1"
    assert first["state"] == "up"
    assert first["caller"]["number"] == "201"
    assert first["callee"]["number"] == "202"


async def test_calls_filter_by_server_and_unknown_server_is_404_naming_the_known() -> None:
    view = LiveView()
    fed_manager(view, calls=2)
    async with client_for(view) as client:
        mine = await (await client.get("/calls", params={"server": "pbx1"})).json()
        unknown = await client.get("/calls", params={"server": "nope"})
        unknown_body = await unknown.json()
    assert mine["count"] == 2
    assert unknown.status == 404
    assert "nope" in unknown_body["error"] and unknown_body["servers"] == ["pbx1"]


async def test_one_call_by_server_and_id_and_404_json_when_unknown() -> None:
    view = LiveView()
    fed_manager(view, calls=1)
    async with client_for(view) as client:
        found = await client.get(f"/calls/pbx1/{CALL0}")
        missing = await client.get("/calls/pbx1/no-such-call")
        other_server = await client.get(f"/calls/pbx2/{CALL0}")
        assert found.status == 200
        assert (await found.json())["call_id"] == CALL0
        assert missing.status == 404 and missing.content_type == "application/json"
        assert "no-such-call" in (await missing.json())["error"]
        assert other_server.status == 404


async def test_path_of_a_call_follows_its_machine_and_outlives_the_hangup() -> None:
    view = LiveView()
    manager = fed_manager(view, calls=1)
    async with client_for(view) as client:
        live = await (await client.get(f"/calls/pbx1/{CALL0}/path")).json()
        for event in answered_call(0, system="pbx1")[UP_AFTER:]:
            manager.on_event(event)
        gone = await client.get(f"/calls/pbx1/{CALL0}")
        ended = await (await client.get(f"/calls/pbx1/{CALL0}/path")).json()
    assert live["in_flight"] is True and live["ended"] is False
    assert live["path"] == ["ring", "dial_end", "answer"]
    assert gone.status == 404
    assert ended["in_flight"] is False and ended["ended"] is True
    assert ended["path"] == ["ring", "dial_end", "answer", "end"]
    assert [e["event"] for e in ended["events"]] == ["on_b_dial", "on_b_dial_end", "on_up",
                                                     "on_hangup"]


async def test_path_svg_draws_the_call_machine_with_the_path() -> None:
    pytest.importorskip("graphviz")
    if not __import__("shutil").which("dot"):
        pytest.skip("Graphviz's dot is not installed (scripts/install-system-deps.sh)")
    view = LiveView()
    fed_manager(view, calls=1)
    async with client_for(view) as client:
        response = await client.get(f"/calls/pbx1/{CALL0}/path.svg")
        body = await response.text()
        unknown = await client.get("/calls/pbx1/nothing/path.svg")
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert body.lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert "ring → dial_end → answer" in body  # the title names the path
    assert unknown.status == 404


async def test_path_svg_without_graphviz_is_503_with_the_install_hint_and_the_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no `dot` to be found
    view = LiveView()
    fed_manager(view, calls=1)
    async with client_for(view) as client:
        response = await client.get(f"/calls/pbx1/{CALL0}/path.svg")
        body = await response.json()
    assert response.status == 503
    assert "Graphviz" in body["error"] or "graphviz" in body["error"]
    assert body["path"] == ["ring", "dial_end", "answer"]


async def test_health_gives_per_server_figures_and_503_when_a_server_is_down() -> None:
    view = LiveView()
    manager = fed_manager(view, calls=2)
    figures = {"pbx1": {"connected": True, "lag": 0.01, "reconnects": 1}}
    view.attach_managers([manager], health=lambda: figures)
    async with client_for(view) as client:
        up = await client.get("/health")
        up_body = await up.json()
        figures["pbx1"]["connected"] = False
        down = await client.get("/health")
        down_body = await down.json()
    assert up.status == 200 and up_body["status"] == "ok"
    assert up_body["servers"]["pbx1"]["calls_in_flight"] == 2
    assert up_body["servers"]["pbx1"]["reconnects"] == 1
    assert down.status == 503 and down_body["down"] == ["pbx1"]


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_metrics_in_prometheus_text_format_count_events_calls_and_hook_errors() -> None:
    class Broken(BaseReporter):
        def on_up(self, *args: Any) -> None:
            raise RuntimeError("a user's reporter bug")

    view = LiveView()
    from cacofonisk.manager import ChannelManager

    manager = ChannelManager(reporter=view.wrap(Broken()), server="pbx1")
    events = [e for n in range(3) for e in answered_call(n, system="pbx1")[:UP_AFTER]]
    for event in events:
        manager.on_event(event)
    view.attach_managers([manager], health=lambda: {
        "pbx1": {"connected": True, "lag": 0.25, "last_event_age": 1.5, "reconnects": 2}})
    async with client_for(view) as client:
        response = await client.get("/metrics")
        text = await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = _samples(text)
    assert samples["cacofonisk_ami_events_total"] == len(events)
    assert samples["cacofonisk_ami_events_per_second"] > 0
    assert samples['cacofonisk_calls_in_flight{server="pbx1"}'] == 3
    assert samples['cacofonisk_call_events_total{server="pbx1",event="on_up"}'] == 3
    assert samples["cacofonisk_hook_errors_total"] == 3
    assert samples['cacofonisk_ami_lag_seconds{server="pbx1"}'] == 0.25
    assert samples['cacofonisk_ami_reconnects_total{server="pbx1"}'] == 2
    assert samples['cacofonisk_ami_connected{server="pbx1"}'] == 1
    assert "# TYPE cacofonisk_ami_events_total counter" in text


async def test_events_stream_numbers_call_events_and_resumes_after_last_event_id() -> None:
    view = LiveView()
    manager = fed_manager(view, calls=0)
    async with client_for(view) as client:
        first = await client.get("/events")
        assert first.headers["Content-Type"].startswith("text/event-stream")
        for event in answered_call(0, system="pbx1"):
            manager.on_event(event)
        live = await read_sse(first, 4)
        first.close()
        resumed = await client.get("/events", headers={"Last-Event-ID": "2"})
        again = await read_sse(resumed, 2)
        resumed.close()
    assert [m["id"] for m in live] == ["1", "2", "3", "4"]
    assert [m["event"] for m in live] == ["call"] * 4
    assert '"event": "on_hangup"' in live[3]["data"]
    assert [m["id"] for m in again] == ["3", "4"]
    assert again[0]["data"] == live[2]["data"]


async def test_resume_from_an_id_older_than_the_buffer_sends_reset_first() -> None:
    view = LiveView(buffer_size=2)
    manager = fed_manager(view, calls=1, upto=None)  # four call events: 1..4, 3 and 4 kept
    assert view.feed.last_seq == 4
    async with client_for(view) as client:
        old = await client.get("/events", headers={"Last-Event-ID": "1"})
        old_messages = await read_sse(old, 3)
        old.close()
        future = await client.get("/events", params={"last_event_id": "99"})
        future_messages = await read_sse(future, 1)
        future.close()
    assert old_messages[0]["event"] == "reset"
    assert '"first_kept": 3' in old_messages[0]["data"]
    assert [m["id"] for m in old_messages[1:]] == ["3", "4"]
    assert future_messages[0]["event"] == "reset"  # an id from before a restart
    assert manager.is_idle()


async def test_a_client_that_stops_reading_is_dropped_and_never_holds_more_than_its_queue(
        ) -> None:
    view = LiveView(client_queue=8)
    manager = fed_manager(view, calls=0)
    async with client_for(view) as client:
        port = client.server.port
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")  # then never reads
        for _ in range(100):
            await asyncio.sleep(0.01)
            if view.feed.clients == 1:
                break
        assert view.feed.clients == 1
        deepest = 0
        n = 0
        while view.feed.dropped_total == 0 and n < 5000:  # fills socket buffers, then the queue
            for event in answered_call(n, system="pbx1"):
                manager.on_event(event)
            deepest = max([deepest, *(s.queue.qsize() for s in view.feed._subscribers)])
            n += 1
            await asyncio.sleep(0)
        sock.close()
    assert view.feed.dropped_total == 1
    assert view.feed.clients == 0
    assert deepest <= 8


async def test_too_many_event_stream_clients_get_503() -> None:
    view = LiveView(max_clients=1)
    fed_manager(view, calls=0)
    async with client_for(view) as client:
        first = await client.get("/events")
        second = await client.get("/events")
        assert second.status == 503
        assert "max_clients" in (await second.json())["error"]
        first.close()


async def test_a_token_is_required_as_bearer_or_cookie_when_set() -> None:
    view = LiveView(token="s3cret-token")
    fed_manager(view, calls=1)
    async with client_for(view) as client:
        bare = await client.get("/calls")
        wrong = await client.get("/calls", headers={"Authorization": "Bearer nope"})
        right = await client.get("/calls", headers={"Authorization": "Bearer s3cret-token"})
        board_wrong = await client.get("/", params={"token": "nope"}, allow_redirects=False)
        board = await client.get("/", params={"token": "s3cret-token"}, allow_redirects=False)
        assert board.status == 302 and board.headers["Location"] == "/"
        cookie = board.cookies["cacofonisk_token"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        after = await client.get("/calls")  # the client keeps the cookie
        assert bare.status == 401 and wrong.status == 401 and board_wrong.status == 401
        assert bare.headers["WWW-Authenticate"].startswith("Bearer")
        assert "s3cret-token" not in await bare.text()
        assert right.status == 200 and after.status == 200


async def test_board_and_its_files_are_served_from_the_package() -> None:
    view = LiveView()
    fed_manager(view, calls=0)
    async with client_for(view) as client:
        page = await client.get("/")
        script = await client.get("/static/board.js")
        style = await client.get("/static/board.css")
        page_text = await page.text()
    assert page.status == script.status == style.status == 200
    assert 'src="static/board.js"' in page_text
    assert "http://" not in page_text and "https://" not in page_text  # nothing from outside


def test_runner_snapshot_joins_every_servers_calls_in_host_order() -> None:
    from cacofonisk.manager import ChannelManager
    from cacofonisk.runners.ami_runner import AmiRunner

    class Snapshotting(ChannelManager):
        def snapshot(self) -> list[Any]:  # what core-state's manager gives, per server
            return [(self.server, call.call_id) for call in self.calls]

    runner = AmiRunner([{"host": "127.0.0.1", "port": 1, "username": "u", "password": "p",
                         "name": name} for name in ("b", "a")], BaseReporter(),
                       channel_manager=Snapshotting)
    for n, manager in enumerate(runner.channel_managers):
        for event in answered_call(n, system=manager.server)[:UP_AFTER]:
            manager.on_event(event)
    assert runner.snapshot() == [("b", "b-1700000000.0"), ("a", "a-1700000000.2")]


async def test_http_server_refuses_a_non_loopback_address_without_a_token() -> None:
    from cacofonisk.errors import ConfigurationError
    from cacofonisk.web.server import HttpServer

    with pytest.raises(ConfigurationError, match="reachable from other machines"):
        await HttpServer(LiveView(), "0.0.0.0", 0).start()


async def test_a_manager_without_snapshot_still_lists_its_calls_from_machine_and_events() -> None:
    from cacofonisk.manager import ChannelManager

    class OldStyle(ChannelManager):
        snapshot = None  # as a manager from before snapshot() existed

    view = LiveView()
    manager = OldStyle(reporter=view.wrap(), server="old")
    for event in answered_call(0, system="old")[:UP_AFTER]:
        manager.on_event(event)
    view.attach_managers([manager])
    async with client_for(view) as client:
        body = await (await client.get("/calls")).json()
    (call,) = body["calls"]
    assert (call["call_id"], call["state"]) == ("old-1700000000.0", "up")
    assert call["caller"]["number"] == "201" and call["callee"]["number"] == "202"
    assert call["to_number"] == "202" and call["targets"] == []


def test_every_kind_of_hook_that_raises_is_counted_and_the_view_still_gets_the_event() -> None:
    from cacofonisk.manager import ChannelManager

    class Broken(BaseReporter):
        def trace_ami(self, event: Any) -> None:
            raise RuntimeError("trace_ami bug")

        def on_event(self, event: Any) -> None:
            raise RuntimeError("on_event bug")

    view = LiveView()
    manager = ChannelManager(reporter=view.wrap(Broken()), server="pbx1")
    events = answered_call(0, system="pbx1")
    for event in events:
        manager.on_event(event)
    assert view.counters.hook_errors == 2 * len(events)
    assert view.counters.ami_events == len(events)
    assert view.feed.last_seq == 4  # b_dial, b_dial_end, up, hangup all published

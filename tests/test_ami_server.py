"""The AMI test server over real loopback sockets, with a raw AMI client."""
from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from cacofonisk.testing.ami_server import AmiTestServer, ChannelTracker, format_block

TIMEOUT = 5.0


def is_last(block: dict[str, Any]) -> bool:
    """The last event of LOG."""
    return block.get("Event") == "Hangup" and block.get("Uniqueid") == "1.2"


def chan(event: str, uid: str, **fields: str) -> dict[str, str]:
    return {"Event": event, "Channel": f"SIP/{uid}", "Uniqueid": uid, **fields}


#: Two channels of one call: ring, answer, bridge, hang up.
LOG: list[dict[str, Any]] = [
    chan("Newchannel", "1.1", Linkedid="1.1", ChannelState="0", ChannelStateDesc="Down",
         CallerIDNum="201", CallerIDName="Alice", Context="internal", Exten="202"),  # 0
    chan("Newstate", "1.1", ChannelState="4", ChannelStateDesc="Ring"),              # 1
    chan("Newchannel", "1.2", Linkedid="1.1", ChannelState="0", ChannelStateDesc="Down",
         CallerIDNum="202", Context="internal", Exten="s"),                          # 2
    chan("Newstate", "1.2", ChannelState="5", ChannelStateDesc="Ringing"),           # 3
    chan("Newstate", "1.2", ChannelState="6", ChannelStateDesc="Up"),                # 4
    chan("BridgeEnter", "1.1", BridgeUniqueid="br-1"),                               # 5
    chan("BridgeEnter", "1.2", BridgeUniqueid="br-1"),                               # 6
    chan("VarSet", "1.1", Variable="X", Value="1"),                                  # 7
    chan("BridgeLeave", "1.1", BridgeUniqueid="br-1"),                               # 8
    chan("Hangup", "1.1", Cause="16"),                                               # 9
    chan("Hangup", "1.2", Cause="16"),                                               # 10
]


class Client:
    """A bare AMI client: what an Asterisk user would type, nothing more."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.banner = b""

    #: Every client of the running test, closed by the ``_close_clients`` fixture.
    opened: list[Client] = []

    @classmethod
    async def connect(cls, srv: AmiTestServer) -> Client:
        reader, writer = await asyncio.open_connection(srv.host, srv.port)
        client = cls(reader, writer)
        cls.opened.append(client)
        client.banner = await asyncio.wait_for(reader.readline(), TIMEOUT)
        return client

    async def send(self, **headers: str) -> None:
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
                          + b"\r\n")
        await self.writer.drain()

    async def read(self) -> dict[str, Any] | None:
        """One block (None at EOF); repeated headers become lists."""
        block: dict[str, Any] = {}
        while True:
            line = await asyncio.wait_for(self.reader.readline(), TIMEOUT)
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                return block
            key, _, value = text.partition(": ")
            if key in block:
                old = block[key]
                block[key] = (old if isinstance(old, list) else [old]) + [value]
            else:
                block[key] = value

    async def read_until(self, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        blocks = []
        while True:
            block = await self.read()
            assert block is not None, f"EOF; got {blocks}"
            blocks.append(block)
            if done(block):
                return blocks

    async def login(self, username: str = "u", secret: str = "s") -> dict[str, Any]:
        await self.send(Action="Login", ActionID="l1", Username=username, Secret=secret)
        reply = await self.read()
        assert reply is not None
        return reply

    async def close(self) -> None:
        self.writer.close()


async def events_until(client: Client, name: str) -> list[str]:
    blocks = await client.read_until(lambda b: b.get("Event") == name)
    return [b.get("Event", "") for b in blocks]


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    yield
    for client in Client.opened:
        client.writer.close()
    Client.opened.clear()


@pytest.fixture
async def server() -> Any:
    async with AmiTestServer(LOG, username="u", secret="s", start_paused=True) as srv:
        yield srv


async def test_plain_login_gets_banner_fully_booted_then_the_log_in_order(server):
    client = await Client.connect(server)
    assert client.banner == b"Asterisk Call Manager/5.0.0\r\n"
    reply = await client.login()
    assert reply == {"Response": "Success", "ActionID": "l1",
                     "Message": "Authentication accepted"}
    server.resume()
    blocks = await client.read_until(is_last)
    assert blocks[0]["Event"] == "FullyBooted"
    assert blocks[1:] == LOG
    await asyncio.wait_for(server.finished.wait(), TIMEOUT)
    assert server.logins == ["u"] and server.actions == ["Login"] and server.sent == len(LOG)
    await client.close()


async def test_md5_login_with_challenge(server):
    client = await Client.connect(server)
    await client.send(Action="Challenge", AuthType="MD5", ActionID="c1")
    challenge = await client.read()
    assert challenge is not None and challenge["Response"] == "Success"
    key = hashlib.md5((challenge["Challenge"] + "s").encode()).hexdigest()
    await client.send(Action="Login", AuthType="MD5", Username="u", Key=key)
    reply = await client.read()
    assert reply is not None and reply["Response"] == "Success"
    assert server.logins == ["u"]


async def test_md5_login_with_wrong_key_fails(server):
    client = await Client.connect(server)
    await client.send(Action="Challenge", AuthType="MD5")
    await client.read()
    await client.send(Action="Login", AuthType="MD5", Username="u", Key="0" * 32)
    reply = await client.read()
    assert reply == {"Response": "Error", "Message": "Authentication failed"}


@pytest.mark.parametrize("username,secret", [("u", "wrong"), ("nobody", "s")])
async def test_bad_credentials_get_an_error_and_the_connection_closes(server, username, secret):
    client = await Client.connect(server)
    reply = await client.login(username, secret)
    assert reply == {"Response": "Error", "ActionID": "l1", "Message": "Authentication failed"}
    assert await client.read() is None
    assert server.logins == []


async def test_actions_before_login_are_denied(server):
    client = await Client.connect(server)
    await client.send(Action="Ping")
    assert await client.read() == {"Response": "Error", "Message": "Permission denied"}


async def test_ping_answers_pong_with_a_timestamp(server):
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="Ping", ActionID="p1")
    blocks = await client.read_until(lambda b: "Response" in b)
    reply = blocks[-1]
    assert reply["Response"] == "Success" and reply["Ping"] == "Pong"
    assert reply["ActionID"] == "p1" and float(reply["Timestamp"]) > 0


async def test_unknown_action_is_an_error(server):
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="Frobnicate", ActionID="x")
    blocks = await client.read_until(lambda b: "Response" in b)
    assert blocks[-1] == {"Response": "Error", "ActionID": "x",
                          "Message": "Invalid/unknown command"}


async def test_include_filter_passes_only_matching_events(server):
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="Filter", Operation="Add", Filter="Event: Newstate")
    await client.read_until(lambda b: "Response" in b)
    server.resume()
    await asyncio.wait_for(server.finished.wait(), TIMEOUT)
    await client.send(Action="Ping")
    names = await events_until_response(client)
    assert names == ["Newstate"] * 3


async def test_exclusion_filter_drops_matching_events(server):
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="Filter", Operation="Add", Filter="!Event: (VarSet|Bridge)")
    await client.read_until(lambda b: "Response" in b)
    server.resume()
    await asyncio.wait_for(server.finished.wait(), TIMEOUT)
    await client.send(Action="Ping")
    names = await events_until_response(client)
    assert names == ["Newchannel", "Newstate", "Newchannel", "Newstate", "Newstate",
                     "Hangup", "Hangup"]


async def test_events_off_stops_events(server):
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="Events", EventMask="off")
    blocks = await client.read_until(lambda b: "Response" in b)
    assert blocks[-1] == {"Response": "Success", "Events": "Off"}
    server.resume()
    await asyncio.wait_for(server.finished.wait(), TIMEOUT)
    await client.send(Action="Ping")
    assert await events_until_response(client) == []


async def events_until_response(client: Client) -> list[str]:
    blocks = await client.read_until(lambda b: "Response" in b)
    return [b["Event"] for b in blocks[:-1] if b.get("Event") != "FullyBooted"]


def alive_after(n: int) -> list[str]:
    alive: list[str] = []
    for event in LOG[:n]:
        if event["Event"] == "Newchannel":
            alive.append(event["Uniqueid"])
        elif event["Event"] == "Hangup":
            alive.remove(event["Uniqueid"])
    return alive


@pytest.mark.parametrize("position", [0, 1, 3, 6, 9, 11])
async def test_core_show_channels_lists_exactly_the_channels_alive_at_that_point(position):
    async with AmiTestServer(LOG) as srv:
        srv.pause(after=position)
        client = await Client.connect(srv)
        await client.login()
        await srv.wait_until_sent(position)
        await client.send(Action="CoreShowChannels", ActionID="cs")
        blocks = await client.read_until(
            lambda b: b.get("Event") == "CoreShowChannelsComplete")
        start = next(i for i, b in enumerate(blocks) if b.get("ActionID") == "cs")
        assert blocks[start] == {"Response": "Success", "ActionID": "cs",
                                 "EventList": "start", "Message": "Channels will follow"}
        listed = [b for b in blocks[start + 1:-1]]
        assert all(b["Event"] == "CoreShowChannel" and b["ActionID"] == "cs" for b in listed)
        assert [b["Uniqueid"] for b in listed] == alive_after(position)
        assert blocks[-1] == {"Event": "CoreShowChannelsComplete", "ActionID": "cs",
                              "EventList": "Complete", "ListItems": str(len(listed))}
        assert srv.sent == position


async def test_core_show_channels_fields_follow_state_and_bridge():
    async with AmiTestServer(LOG) as srv:
        srv.pause(after=7)
        client = await Client.connect(srv)
        await client.login()
        await srv.wait_until_sent(7)
        await client.send(Action="CoreShowChannels")
        blocks = await client.read_until(
            lambda b: b.get("Event") == "CoreShowChannelsComplete")
        listed = {b["Uniqueid"]: b for b in blocks if b.get("Event") == "CoreShowChannel"}
        a, b = listed["1.1"], listed["1.2"]
        assert (a["Channel"], a["ChannelState"], a["ChannelStateDesc"]) == ("SIP/1.1", "4", "Ring")
        assert (a["CallerIDNum"], a["CallerIDName"], a["Linkedid"]) == ("201", "Alice", "1.1")
        assert (b["ChannelState"], b["Linkedid"], b["Exten"]) == ("6", "1.1", "s")
        assert a["BridgeId"] == b["BridgeId"] == "br-1"
        for key in ("Context", "ConnectedLineNum", "ConnectedLineName", "AccountCode",
                    "Application"):
            assert key in a


def test_tracker_follows_ami1_names_rename_and_bridge_link():
    tracker = ChannelTracker()
    tracker.feed({"Event": "Newchannel", "Channel": "SIP/a-1", "Uniqueid": "9.1",
                  "ChannelState": "0"})
    tracker.feed({"Event": "Newchannel", "Channel": "SIP/b-2", "UniqueID": "9.2"})
    tracker.feed({"Event": "Rename", "Channel": "SIP/a-1", "Newname": "SIP/a-1<MASQ>",
                  "Uniqueid": "9.1"})
    tracker.feed({"Event": "Bridge", "Bridgestate": "Link", "Channel1": "SIP/a-1<MASQ>",
                  "Channel2": "SIP/b-2", "Uniqueid1": "9.1", "Uniqueid2": "9.2"})
    tracker.feed({"Event": "Newexten", "Uniqueid": "9.2", "Extension": "300",
                  "Application": "Dial", "AppData": "SIP/c"})
    first, second = tracker.snapshot()
    assert first["Channel"] == "SIP/a-1<MASQ>" and first["Linkedid"] == "9.1"
    assert first["BridgedUniqueid"] == "9.2" and second["BridgedChannel"] == "SIP/a-1<MASQ>"
    assert (second["Exten"], second["Application"], second["ApplicationData"]) == (
        "300", "Dial", "SIP/c")
    tracker.feed({"Event": "Hangup", "UniqueID": "9.2"})
    assert [c["Uniqueid"] for c in tracker.snapshot()] == ["9.1"]


async def test_user_event_comes_in_order_with_the_replay(server):
    server.pause(after=3)
    client = await Client.connect(server)
    await client.login()
    server.resume()
    await server.wait_until_sent(3)
    await client.send(Action="UserEvent", UserEvent="Barrier-1", ActionID="ue", Extra="x")
    blocks = await client.read_until(lambda b: b.get("Event") == "UserEvent")
    assert [b.get("Event") for b in blocks] == [
        "FullyBooted", "Newchannel", "Newstate", "Newchannel", None, "UserEvent"]
    assert blocks[-2] == {"Response": "Success", "ActionID": "ue", "Message": "Event Sent"}
    assert blocks[-1]["UserEvent"] == "Barrier-1" and blocks[-1]["Extra"] == "x"
    server.resume()
    rest = await client.read_until(is_last)
    assert rest == LOG[3:]


async def test_drop_and_reconnect_resumes_where_the_log_was(server):
    server.pause(after=4)
    first = await Client.connect(server)
    await first.login()
    server.resume()
    got = await first.read_until(lambda b: b.get("ChannelStateDesc") == "Ringing")
    assert got[1:] == LOG[:4]
    await server.drop_connections()
    assert await first.read() is None and server.clients == 0
    assert server.sent == 4
    server.resume()
    second = await Client.connect(server)
    await second.login()
    blocks = await second.read_until(is_last)
    assert blocks[0]["Event"] == "FullyBooted" and blocks[1:] == LOG[4:]
    assert server.logins == ["u", "u"]


async def test_without_resume_each_login_restarts_the_log():
    async with AmiTestServer(LOG, resume=False) as srv:
        srv.pause(after=2)
        first = await Client.connect(srv)
        await first.login()
        await srv.wait_until_sent(2)
        await srv.drop_connections()
        srv.resume()
        second = await Client.connect(srv)
        await second.login()
        blocks = await second.read_until(is_last)
        assert blocks[1:] == LOG


async def test_skip_consumes_events_a_client_misses(server):
    server.skip(10)
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="CoreShowChannels")
    blocks = await client.read_until(lambda b: b.get("Event") == "CoreShowChannelsComplete")
    assert [b["Uniqueid"] for b in blocks if b.get("Event") == "CoreShowChannel"] == ["1.2"]
    server.resume()
    rest = await client.read_until(lambda b: b.get("Event") == "Hangup")
    assert rest[-1] == LOG[10]


async def test_hung_connection_stays_open_but_answers_nothing(server):
    client = await Client.connect(server)
    await client.login()
    assert (await client.read())["Event"] == "FullyBooted"
    server.hang_connections()
    await client.send(Action="Ping")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.reader.readline(), 0.2)
    other = await Client.connect(server)
    assert (await other.login())["Response"] == "Success"


async def test_logoff_says_goodbye_and_closes(server):
    client = await Client.connect(server)
    await client.login()
    await client.send(Action="Logoff")
    blocks = await client.read_until(lambda b: "Response" in b)
    assert blocks[-1]["Response"] == "Goodbye"
    assert await client.read() is None


async def test_log_from_a_json_file_at_a_rate(tmp_path):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(LOG[:5]))
    async with AmiTestServer(str(path), rate=200.0) as srv:
        loop = asyncio.get_running_loop()
        client = await Client.connect(srv)
        start = loop.time()
        await client.login()
        blocks = await client.read_until(lambda b: b.get("ChannelStateDesc") == "Up")
        assert blocks[1:] == LOG[:5]
        assert loop.time() - start >= 4 / 200.0


async def test_restamp_puts_the_send_time_on_events():
    async with AmiTestServer(LOG[:1], restamp=True) as srv:
        client = await Client.connect(srv)
        await client.login()
        blocks = await client.read_until(lambda b: b.get("Event") == "Newchannel")
        assert float(blocks[-1]["Timestamp"]) > 1e9


def test_format_block_repeats_headers_and_drops_non_strings():
    block = format_block({"Variable": ["a=1", "b=2"], "Event": "VarSet",
                          "ChanVariable": "x=1\ny=2", "Count": 3, "content": ""})
    assert block == (b"Event: VarSet\r\nVariable: a=1\r\nVariable: b=2\r\n"
                     b"ChanVariable: x=1\r\nChanVariable: y=2\r\ncontent: \r\n\r\n")


def test_repr_does_not_show_the_secret():
    srv = AmiTestServer(LOG, secret="hunter2-secret")
    assert "hunter2" not in repr(srv)


def test_a_log_that_is_not_a_list_is_refused():
    with pytest.raises(ValueError):
        AmiTestServer({"Event": "x"})  # type: ignore[arg-type]

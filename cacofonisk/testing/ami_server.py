"""A real TCP server that speaks the Asterisk Manager Interface, for tests.

Why: the runner's hard parts (login, filters, keep-alive, reconnect, resync)
only show up on a real socket, and a real Asterisk is too heavy for unit
tests and demos. This server replays a recorded event log (a JSON list of
AMI events, as FileRunner reads it) to every client that logs in, and
answers the handful of actions a listener needs, the way Asterisk does:

    Login (plain Secret, or AuthType MD5 after a Challenge), Challenge,
    Logoff, Ping, Events, Filter, CoreShowChannels, UserEvent.

The replay position is kept per username, so a client that reconnects
continues where the log was (``resume=True``), as it would with a live
server that kept running while the client was away. CoreShowChannels answers
from the events replayed so far, which is what a resync needs to test.

Example::

    async with AmiTestServer(events, username='u', secret='s') as srv:
        ...connect to srv.host, srv.port...
        await srv.wait_until_sent(len(events))
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/5.0.0\r\n"
EOL = "\r\n"

#: What the server accepts as an event log: the events, or a JSON file path.
EventSource = Sequence[Mapping[str, Any]] | str | os.PathLike[str]

#: CoreShowChannel fields copied from any event about a known channel.
_SNAPSHOT_FIELDS = (
    "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "AccountCode", "Context",
    "Exten", "Priority", "Linkedid",
)


def load_events(source: EventSource) -> list[Mapping[str, Any]]:
    """Return the events of a log given as a list or as a JSON file path."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as fd:
            data = json.load(fd)
    else:
        data = source
    if not isinstance(data, list) or not all(isinstance(e, Mapping) for e in data):
        raise ValueError("an event log is a list of AMI events (mappings of str)")
    return list(data)


def format_block(headers: Mapping[str, Any], first: str = "Event") -> bytes:
    """Serialize one AMI message (event or response) as Asterisk writes it.

    The ``first`` header goes first, as AMI clients expect. A list value,
    or a str holding newlines (a repeated header joined by a recorder),
    becomes repeated headers. Values that are neither str nor list cannot be
    sent over AMI and are dropped.
    """
    lines: list[str] = []
    keys = sorted(headers, key=lambda k: k != first)
    for key in keys:
        value = headers[key]
        if isinstance(value, str):
            values = value.split("\n") if "\n" in value else [value]
        elif isinstance(value, list):
            values = [v for v in value if isinstance(v, str)]
        else:
            continue
        lines.extend(f"{key}: {v.rstrip(chr(13))}" for v in values)
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")


def _get(event: Mapping[str, Any], *names: str) -> str:
    """First str value among ``names``, compared without case (1.x vs 2.x)."""
    wanted = {n.lower() for n in names}
    for key, value in event.items():
        if key.lower() in wanted and isinstance(value, str):
            return value
    return ""


class ChannelTracker:
    """Which channels are alive after the events replayed so far.

    Why: CoreShowChannels must answer for the point of the log the client
    has reached, so a reconnecting client can resync against it. Follows
    Newchannel, Rename, Newstate, Newexten, Hangup, BridgeEnter/BridgeLeave
    (2.x) and Bridge Link/Unlink (1.x), with both Uniqueid spellings.
    """

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, str]] = {}

    def feed(self, event: Mapping[str, Any]) -> None:
        """Apply one replayed event."""
        name = _get(event, "Event")
        if name == "Bridge":
            self._bridge_1x(event)
            return
        uid = _get(event, "Uniqueid") or self._by_name(_get(event, "Channel", "Oldname"))
        if name == "Newchannel" and uid:
            self._channels[uid] = self._new(event, uid)
            return
        chan = self._channels.get(uid)
        if chan is None:
            return
        if name == "Hangup":
            del self._channels[uid]
            return
        for field in _SNAPSHOT_FIELDS:
            value = _get(event, field)
            if value:
                chan[field] = value
        if name == "Rename":
            chan["Channel"] = _get(event, "Newname") or chan["Channel"]
        elif name == "Newexten":
            chan["Exten"] = _get(event, "Exten", "Extension") or chan["Exten"]
            chan["Application"] = _get(event, "Application")
            chan["ApplicationData"] = _get(event, "AppData")
        elif name == "BridgeEnter":
            chan["BridgeId"] = _get(event, "BridgeUniqueid")
        elif name == "BridgeLeave":
            chan["BridgeId"] = ""

    def snapshot(self) -> list[dict[str, str]]:
        """The live channels as CoreShowChannel bodies, oldest first."""
        return [dict(chan) for chan in self._channels.values()]

    def _new(self, event: Mapping[str, Any], uid: str) -> dict[str, str]:
        chan = {"Channel": _get(event, "Channel"), "Uniqueid": uid}
        for field in _SNAPSHOT_FIELDS:
            chan[field] = _get(event, field)
        chan["Linkedid"] = chan["Linkedid"] or uid
        chan.update(Application="", ApplicationData="", BridgeId="")
        return chan

    def _by_name(self, channel: str) -> str:
        for uid, chan in self._channels.items():
            if channel and chan["Channel"] == channel:
                return uid
        return ""

    def _bridge_1x(self, event: Mapping[str, Any]) -> None:
        linked = _get(event, "Bridgestate") == "Link"
        one = (_get(event, "Uniqueid1"), _get(event, "Channel1"))
        two = (_get(event, "Uniqueid2"), _get(event, "Channel2"))
        for (uid, _), (other_uid, other_name) in ((one, two), (two, one)):
            chan = self._channels.get(uid)
            if chan is not None:
                chan["BridgedChannel"] = other_name if linked else ""
                chan["BridgedUniqueid"] = other_uid if linked else ""


class _Action:
    """One action as received: headers in order, looked up without case."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self._lower: dict[str, str] = {}
        for key, value in pairs:
            self._lower.setdefault(key.lower(), value)

    def get(self, key: str, default: str = "") -> str:
        return self._lower.get(key.lower(), default)


class _Replay:
    """How far the log was replayed for one username; survives reconnects."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.position = 0
        self.tracker = ChannelTracker()
        self.owner: _Session | None = None


class _Session:
    """One client connection: reads actions, owns a replay task."""

    def __init__(self, server: AmiTestServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.username = ""
        self.authenticated = False
        self.challenge = ""
        self.events_on = True
        self.hung = False
        self.filters: list[tuple[bool, re.Pattern[str]]] = []
        self.replay: _Replay | None = None
        self.replay_task: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        self.writer.write(BANNER)
        while not self.writer.is_closing():
            action = await self._read_action()
            if action is None:
                return
            self.server.actions.append(action.get("Action"))
            if self.hung:
                continue  # a hung Asterisk: TCP open, nobody answering
            if not await self.server._handle_action(self, action):
                return

    async def _read_action(self) -> _Action | None:
        """Read one action block; None when the client went away."""
        headers: list[tuple[str, str]] = []
        while True:
            try:
                raw = await self.reader.readline()
            except (ConnectionError, asyncio.LimitOverrunError, ValueError):
                return None
            if not raw:
                return None
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if headers:
                    return _Action(headers)
                continue
            key, _, value = line.partition(":")
            headers.append((key.strip(), value[1:] if value.startswith(" ") else value))

    def respond(self, action: _Action, response: str, **fields: str) -> None:
        headers = {"Response": response}
        if action.get("ActionID"):
            headers["ActionID"] = action.get("ActionID")
        headers.update(fields)
        self.write(format_block(headers, first="Response"))

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send one event if the client asked for events and its filters allow."""
        if not self.events_on or self.hung:
            return
        block = format_block(event)
        if self._filtered_out(block.decode("utf-8")):
            return
        self.write(block)

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def _filtered_out(self, text: str) -> bool:
        """Asterisk's rule: pass if any include matches (or there is none),
        then drop if any exclude (``!``) matches."""
        includes = [rx for inc, rx in self.filters if inc]
        excludes = [rx for inc, rx in self.filters if not inc]
        if includes and not any(rx.search(text) for rx in includes):
            return True
        return any(rx.search(text) for rx in excludes)

    def stop_replay(self) -> None:
        if self.replay_task is not None:
            self.replay_task.cancel()
            self.replay_task = None


class AmiTestServer:
    """An asyncio AMI server that replays an event log to each client.

    Args:
        events: the log: a list of AMI event dicts, or a JSON file path.
        username: the one manager user that may log in.
        secret: its secret (plain or MD5 login); never logged.
        host: address to bind; port 0 picks a free port (see ``port``).
        rate: events per second, or None for as fast as possible (still
            yielding to the loop between events).
        start_paused: hold the replay until ``resume()``.
        resume: a client that logs in again with the same username continues
            where its log was; False restarts the log for every login.
        restamp: replace each event's Timestamp with the time it is sent, so
            a client's lag figure means something on old recordings.
    """

    def __init__(self, events: EventSource, username: str = "u", secret: str = "s",
                 host: str = "127.0.0.1", port: int = 0, rate: float | None = None,
                 start_paused: bool = False, resume: bool = True,
                 restamp: bool = False) -> None:
        self.events = load_events(events)
        self.username = username
        self._secret = secret
        self.host = host
        self.port = port
        self.rate = rate if rate and rate > 0 else None
        self.resume_enabled = resume
        self.restamp = restamp
        #: Usernames of the successful logins, in order.
        self.logins: list[str] = []
        #: Action names received (as the client spelled them), in order.
        self.actions: list[str] = []
        #: Set when the whole log was sent to the current client.
        self.finished = asyncio.Event()
        self._running = asyncio.Event()
        if not start_paused:
            self._running.set()
        self._stop_at: int | None = None
        self._replays: dict[str, _Replay] = {}
        self._current: _Replay | None = None
        self._sessions: dict[_Session, asyncio.Task[Any] | None] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._server: asyncio.Server | None = None

    def __repr__(self) -> str:
        return (f"<AmiTestServer {self.host}:{self.port} user={self.username!r} "
                f"sent={self.sent}/{len(self.events)} clients={self.clients}>")

    async def __aenter__(self) -> AmiTestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and listen; ``port`` then holds the real port."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and close every client connection."""
        if self._server is not None:
            self._server.close()
        await self.drop_connections()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    @property
    def clients(self) -> int:
        """Number of open client connections (logged in or not)."""
        return len(self._sessions)

    @property
    def sent(self) -> int:
        """Log position of the current client (events replayed to it)."""
        return self._current.position if self._current else 0

    def pause(self, after: int | None = None) -> None:
        """Hold the replay now, or once ``after`` events of the log were sent.

        ``after`` makes a stop point exact, where pausing from a test would
        race with the replay task. Reaching it pauses once; ``resume()``
        then continues (set a new stop point first to step through a log).
        """
        if after is None:
            self._running.clear()
        else:
            self._stop_at = after

    def resume(self) -> None:
        """Continue a paused replay."""
        self._running.set()

    def skip(self, n: int, username: str | None = None) -> None:
        """Consume ``n`` events of a user's log without sending them: what a
        client misses while it is disconnected from a live server.

        CoreShowChannels still reflects them, as Asterisk's would.
        """
        user = self.username if username is None else username
        replay = self._replays.setdefault(user, _Replay(user))
        for event in self.events[replay.position:replay.position + max(n, 0)]:
            replay.position += 1
            replay.tracker.feed(event)

    async def wait_until_sent(self, n: int) -> None:
        """Wait until the current client got ``n`` events of the log."""
        if self.sent >= n:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((n, fut))
        await fut

    async def drop_connections(self) -> None:
        """Abruptly close every client connection (a network failure).

        Replay positions stay, so a client that logs in again continues.
        """
        sessions = list(self._sessions.items())
        for session, _ in sessions:
            session.stop_replay()
            session.writer.transport.abort()
        await asyncio.gather(*(t for _, t in sessions if t is not None), return_exceptions=True)

    def hang_connections(self) -> None:
        """Make the current connections go silent with their TCP still open,
        like a hung Asterisk: no answers, no events. New logins work."""
        for session in self._sessions:
            session.hung = True
            session.stop_replay()

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        self._sessions[session] = asyncio.current_task()
        try:
            await session.serve()
        except ConnectionError:
            pass
        finally:
            session.stop_replay()
            self._sessions.pop(session, None)
            if not writer.is_closing():
                writer.close()

    async def _handle_action(self, session: _Session, action: _Action) -> bool:
        """Answer one action; False when the connection must close."""
        name = action.get("action", "")
        log.debug("AMI test server: action %r", name)
        key = name.lower()
        if not session.authenticated and key not in ("login", "challenge", "logoff"):
            session.respond(action, "Error", Message="Permission denied")
            return True
        handler = _ACTIONS.get(key)
        if handler is None:
            message = "Invalid/unknown command" if name else "Missing action in request"
            session.respond(action, "Error", Message=message)
            return True
        return await handler(self, session, action)

    async def _login(self, session: _Session, action: _Action) -> bool:
        if self._credentials_ok(session, action):
            session.authenticated = True
            session.username = action.get("username", "")
            session.events_on = action.get("events", "on").lower() != "off"
            self.logins.append(session.username)
            session.respond(action, "Success", Message="Authentication accepted")
            session.send_event({"Event": "FullyBooted", "Privilege": "system,all",
                                "Status": "Fully Booted"})
            self._start_replay(session)
            return True
        log.info("AMI test server: failed login for user %r", action.get("username", ""))
        session.respond(action, "Error", Message="Authentication failed")
        await session.writer.drain()
        return False  # Asterisk closes the session after a failed login

    def _credentials_ok(self, session: _Session, action: _Action) -> bool:
        if action.get("username", "") != self.username:
            return False
        if action.get("authtype", "").lower() == "md5":
            if not session.challenge:
                return False
            digest = hashlib.md5((session.challenge + self._secret).encode()).hexdigest()
            return hmac.compare_digest(digest, action.get("key", "").lower())
        return hmac.compare_digest(action.get("secret", "").encode(), self._secret.encode())

    async def _challenge(self, session: _Session, action: _Action) -> bool:
        if action.get("authtype", "").lower() != "md5":
            session.respond(action, "Error", Message="Must specify AuthType")
            return True
        session.challenge = str(secrets.randbelow(10**9))
        session.respond(action, "Success", Challenge=session.challenge)
        return True

    async def _logoff(self, session: _Session, action: _Action) -> bool:
        session.respond(action, "Goodbye", Message="Thanks for all the fish.")
        await session.writer.drain()
        return False

    async def _ping(self, session: _Session, action: _Action) -> bool:
        session.respond(action, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")
        return True

    async def _events(self, session: _Session, action: _Action) -> bool:
        session.events_on = action.get("eventmask", "on").lower() != "off"
        session.respond(action, "Success", Events="On" if session.events_on else "Off")
        return True

    async def _filter(self, session: _Session, action: _Action) -> bool:
        if action.get("operation", "add").lower() != "add":
            session.respond(action, "Error", Message="Unknown operation")
            return True
        text = action.get("filter", "")
        include = not text.startswith("!")
        try:
            regex = re.compile(text if include else text[1:])
        except re.error:
            session.respond(action, "Error", Message="Filter Not Added")
            return True
        session.filters.append((include, regex))
        session.respond(action, "Success", Message="Filter Added Successfully")
        return True

    async def _core_show_channels(self, session: _Session, action: _Action) -> bool:
        channels = session.replay.tracker.snapshot() if session.replay else []
        session.respond(action, "Success", EventList="start",
                        Message="Channels will follow")
        action_id = {"ActionID": action.get("ActionID")} if action.get("ActionID") else {}
        for chan in channels:
            session.write(format_block({"Event": "CoreShowChannel", **action_id, **chan}))
        session.write(format_block({"Event": "CoreShowChannelsComplete", **action_id,
                                    "EventList": "Complete", "ListItems": str(len(channels))}))
        return True

    async def _user_event(self, session: _Session, action: _Action) -> bool:
        session.respond(action, "Success", Message="Event Sent")
        event = {"Event": "UserEvent", "Privilege": "user,all",
                 "UserEvent": action.get("userevent", "")}
        for key, value in action.pairs:
            if key.lower() not in ("action", "userevent"):
                event[key] = value
        session.send_event(event)
        return True

    def _start_replay(self, session: _Session) -> None:
        if self.resume_enabled:
            replay = self._replays.setdefault(session.username, _Replay(session.username))
        else:
            replay = _Replay(session.username)
        if replay.owner is not None and replay.owner is not session:
            replay.owner.stop_replay()  # the newest login of a user owns its log
        replay.owner = session
        session.replay = replay
        self._current = replay
        if replay.position < len(self.events):
            self.finished.clear()
        session.replay_task = asyncio.create_task(self._replay(session, replay))

    async def _replay(self, session: _Session, replay: _Replay) -> None:
        """Send the rest of the log to one client, at the configured rate."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.rate if self.rate else 0.0
        next_at = loop.time()
        while replay.position < len(self.events) and not session.writer.is_closing():
            await self._running.wait()
            if interval:
                next_at = max(next_at + interval, loop.time())
                await asyncio.sleep(next_at - loop.time())
            else:
                await asyncio.sleep(0)
            if not self._may_send(replay) or session.writer.is_closing():
                continue
            self._send_next(session, replay)
            if session.writer.transport.get_write_buffer_size() > 65536:
                await session.writer.drain()
        if replay.position >= len(self.events) and replay is self._current:
            self.finished.set()

    def _may_send(self, replay: _Replay) -> bool:
        """False while paused; reaching a ``pause(after=...)`` point pauses."""
        if self._stop_at is not None and replay.position >= self._stop_at:
            self._stop_at = None
            self._running.clear()
        return self._running.is_set()

    def _send_next(self, session: _Session, replay: _Replay) -> None:
        """Send the event at the replay position and account for it."""
        event = self.events[replay.position]
        replay.position += 1
        replay.tracker.feed(event)
        if "Event" in event:  # a log holds events; anything else is skipped
            if self.restamp:
                event = {**event, "Timestamp": f"{time.time():.6f}"}
            session.send_event(event)
        if replay is self._current:
            self._notify(replay.position)

    def _notify(self, position: int) -> None:
        still: list[tuple[int, asyncio.Future[None]]] = []
        for n, fut in self._waiters:
            if position >= n and not fut.done():
                fut.set_result(None)
            elif not fut.done():
                still.append((n, fut))
        self._waiters = still


_ACTIONS = {
    "login": AmiTestServer._login,
    "challenge": AmiTestServer._challenge,
    "logoff": AmiTestServer._logoff,
    "ping": AmiTestServer._ping,
    "events": AmiTestServer._events,
    "filter": AmiTestServer._filter,
    "coreshowchannels": AmiTestServer._core_show_channels,
    "userevent": AmiTestServer._user_event,
}


async def serve_forever(events: EventSource, username: str = "u", secret: str = "s",
                        host: str = "127.0.0.1", port: int = 5038,
                        rate: float | None = 10.0, restamp: bool = True) -> None:
    """Replay a log to any client until cancelled; for the CLI demo.

    Why a coroutine and not a main(): the CLI owns the loop, logging and
    signal handling; this only serves.
    """
    async with AmiTestServer(events, username=username, secret=secret, host=host,
                             port=port, rate=rate, restamp=restamp) as srv:
        log.info("AMI test server listening on %s:%d for user %r (%d events)",
                 srv.host, srv.port, username, len(srv.events))
        await asyncio.Event().wait()

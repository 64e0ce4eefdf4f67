"""A real TCP server that speaks the Asterisk Manager Interface, for tests.

Why: the runner's hard parts (login, filters, keep-alive, reconnect, resync)
only show up on a real socket, and a real Asterisk is too heavy for unit
tests and demos. This server replays a recorded event log (a JSON list of
AMI events, as FileRunner reads it) to every client that logs in, and
answers the handful of actions a listener needs, the way Asterisk does:

    Login (plain Secret, or AuthType MD5 after a Challenge), Challenge,
    Logoff, Ping, Events, Filter, UserEvent, CoreSettings, and the lists a resync reads:
    CoreShowChannels, ParkedCalls, QueueStatus, ConfbridgeListRooms,
    ConfbridgeList.

The replay position is kept per username, so a client that reconnects
continues where the log was (``resume=True``), as it would with a live
server that kept running while the client was away. The lists answer from
the events replayed so far (``ami_lists``), which is what a resync needs
to test. The banner names the AMI version (``banner=``: '5.0.0' for an
Asterisk 13+, '1.1' for an Asterisk 1.8); ``refuse=`` makes actions answer
'Permission denied', as for a manager user without the privilege.

Example::

    async with AmiTestServer(events, username='u', secret='s') as srv:
        ...connect to srv.host, srv.port...
        await srv.wait_until_sent(len(events))
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Iterable
from typing import Any

from .ami_lists import ChannelTracker, LogState, list_answer
from .ami_session import Replay, Session
from .ami_wire import (AMI1_VERSION, AMI_VERSION, EOL, AmiAction, EventSource, ami_version_of,
                       format_block, load_events)

log = logging.getLogger(__name__)

#: The banner of an Asterisk 13 and later (the server sends its own ``banner``).
BANNER = f"Asterisk Call Manager/{AMI_VERSION}\r\n".encode()


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
        banner: the AMI version the banner announces ('5.0.0': Asterisk 13
            and later; '1.1' to '1.3': Asterisk 1.8 to 11). By default the
            log's own: '1.1' for a log of AMI 1 events (no Linkedid header,
            1.x-only event names), else '5.0.0'; a runner trusts the banner.
            ``CoreSettings`` answers it as ``AMIversion`` too.
        bare_banner: announce no version (``Asterisk Call Manager/``), so a
            client must ask ``CoreSettings``.
        refuse: action names answered 'Permission denied' (a manager user
            without the privilege, or a module not loaded).
    """

    def __init__(self, events: EventSource, username: str = "u", secret: str = "s",
                 host: str = "127.0.0.1", port: int = 0, rate: float | None = None,
                 start_paused: bool = False, resume: bool = True,
                 restamp: bool = False, banner: str | None = None,
                 bare_banner: bool = False,
                 refuse: Iterable[str] = ()) -> None:
        self.events = load_events(events)
        self.username = username
        self._secret = secret
        self.host = host
        self.port = port
        self.rate = rate if rate and rate > 0 else None
        self.resume_enabled = resume
        self.restamp = restamp
        self.banner = banner or ami_version_of(self.events)
        self.bare_banner = bare_banner
        self.refused = frozenset(name.lower() for name in refuse)
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
        self._replays: dict[str, Replay] = {}
        self._current: Replay | None = None
        self._sessions: dict[Session, asyncio.Task[Any] | None] = {}
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
        replay = self._replays.setdefault(user, Replay(user))
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
        session = Session(self, reader, writer)
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

    async def _handle_action(self, session: Session, action: AmiAction) -> bool:
        """Answer one action; False when the connection must close."""
        name = action.get("action", "")
        log.debug("AMI test server: action %r", name)
        key = name.lower()
        if not session.authenticated and key not in ("login", "challenge", "logoff"):
            session.respond(action, "Error", Message="Permission denied")
            return True
        handler = _ACTIONS.get(key)
        if key in self.refused:
            session.respond(action, "Error", Message="Permission denied")
            return True
        if handler is None:
            message = "Invalid/unknown command" if name else "Missing action in request"
            session.respond(action, "Error", Message=message)
            return True
        return await handler(self, session, action)

    async def _login(self, session: Session, action: AmiAction) -> bool:
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

    def _credentials_ok(self, session: Session, action: AmiAction) -> bool:
        if action.get("username", "") != self.username:
            return False
        if action.get("authtype", "").lower() == "md5":
            if not session.challenge:
                return False
            digest = hashlib.md5((session.challenge + self._secret).encode()).hexdigest()
            return hmac.compare_digest(digest, action.get("key", "").lower())
        return hmac.compare_digest(action.get("secret", "").encode(), self._secret.encode())

    async def _challenge(self, session: Session, action: AmiAction) -> bool:
        if action.get("authtype", "").lower() != "md5":
            session.respond(action, "Error", Message="Must specify AuthType")
            return True
        session.challenge = str(secrets.randbelow(10**9))
        session.respond(action, "Success", Challenge=session.challenge)
        return True

    async def _logoff(self, session: Session, action: AmiAction) -> bool:
        session.respond(action, "Goodbye", Message="Thanks for all the fish.")
        await session.writer.drain()
        return False

    async def _ping(self, session: Session, action: AmiAction) -> bool:
        session.respond(action, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")
        return True

    async def _core_settings(self, session: Session, action: AmiAction) -> bool:
        major = self.banner.partition(".")[0]
        asterisk = "22.10.1" if major.isdigit() and int(major) >= 2 else "11.25.3"
        session.respond(action, "Success", AMIversion=self.banner, AsteriskVersion=asterisk,
                        SystemName="testami")
        return True

    async def _events(self, session: Session, action: AmiAction) -> bool:
        session.events_on = action.get("eventmask", "on").lower() != "off"
        session.respond(action, "Success", Events="On" if session.events_on else "Off")
        return True

    async def _filter(self, session: Session, action: AmiAction) -> bool:
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

    async def _list_action(self, session: Session, action: AmiAction) -> bool:
        """CoreShowChannels, ParkedCalls, QueueStatus, ConfbridgeListRooms,
        ConfbridgeList: answered from the log as replayed so far, framed as
        Asterisk does (a Success response, one event per entry, then the
        ``...Complete`` event, all with the ActionID)."""
        state = session.replay.tracker if session.replay else LogState()
        answer = list_answer(state, action.get("action"), action.get("conference"))
        if isinstance(answer, str):
            session.respond(action, "Error", Message=answer)
            return True
        session.send_list(action, *answer)
        return True

    async def _user_event(self, session: Session, action: AmiAction) -> bool:
        session.respond(action, "Success", Message="Event Sent")
        event = {"Event": "UserEvent", "Privilege": "user,all",
                 "UserEvent": action.get("userevent", "")}
        for key, value in action.pairs:
            if key.lower() not in ("action", "userevent"):
                event[key] = value
        session.send_event(event)
        return True

    def _start_replay(self, session: Session) -> None:
        if self.resume_enabled:
            replay = self._replays.setdefault(session.username, Replay(session.username))
        else:
            replay = Replay(session.username)
        if replay.owner is not None and replay.owner is not session:
            replay.owner.stop_replay()  # the newest login of a user owns its log
        replay.owner = session
        session.replay = replay
        self._current = replay
        if replay.position < len(self.events):
            self.finished.clear()
        session.replay_task = asyncio.create_task(self._replay(session, replay))

    async def _replay(self, session: Session, replay: Replay) -> None:
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

    def _may_send(self, replay: Replay) -> bool:
        """False while paused; reaching a ``pause(after=...)`` point pauses."""
        if self._stop_at is not None and replay.position >= self._stop_at:
            self._stop_at = None
            self._running.clear()
        return self._running.is_set()

    def _send_next(self, session: Session, replay: Replay) -> None:
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
    "coresettings": AmiTestServer._core_settings,
    "events": AmiTestServer._events,
    "filter": AmiTestServer._filter,
    "coreshowchannels": AmiTestServer._list_action,
    "parkedcalls": AmiTestServer._list_action,
    "queuestatus": AmiTestServer._list_action,
    "confbridgelistrooms": AmiTestServer._list_action,
    "confbridgelist": AmiTestServer._list_action,
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


# Re-exported: these lived here before the split and tests import them from here.
__all__ = ["AMI1_VERSION", "AMI_VERSION", "BANNER", "EOL", "AmiTestServer", "ChannelTracker",
           "EventSource", "format_block", "load_events", "serve_forever"]

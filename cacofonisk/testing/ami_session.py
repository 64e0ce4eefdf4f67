"""One client connection of the test AMI server, and its place in the log.

Why a module of its own: reading action blocks, answering, filtering the
events a client asked for and going silent like a hung Asterisk are the
life of one connection; the server (``ami_server``) decides what to answer.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .ami_lists import LogState
from .ami_wire import AmiAction, format_block

if TYPE_CHECKING:
    from .ami_server import AmiTestServer


class Replay:
    """How far the log was replayed for one username; survives reconnects."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.position = 0
        self.tracker = LogState()
        self.owner: Session | None = None


class Session:
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
        self.replay: Replay | None = None
        self.replay_task: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        version = "" if self.server.bare_banner else self.server.banner
        self.writer.write(f"Asterisk Call Manager/{version}\r\n".encode())
        while not self.writer.is_closing():
            action = await self._read_action()
            if action is None:
                return
            self.server.actions.append(action.get("Action"))
            if self.hung:
                continue  # a hung Asterisk: TCP open, nobody answering
            if not await self.server._handle_action(self, action):
                return

    async def _read_action(self) -> AmiAction | None:
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
                    return AmiAction(headers)
                continue
            key, _, value = line.partition(":")
            headers.append((key.strip(), value[1:] if value.startswith(" ") else value))

    def respond(self, action: AmiAction, response: str, **fields: str) -> None:
        headers = {"Response": response}
        if action.get("ActionID"):
            headers["ActionID"] = action.get("ActionID")
        headers.update(fields)
        self.write(format_block(headers, first="Response"))

    def send_list(self, action: AmiAction, message: str, complete: str,
                  entries: list[dict[str, str]]) -> None:
        """Answer a list action as Asterisk does: a Success response, one
        event per entry, then the ``complete`` event, all with the ActionID."""
        self.respond(action, "Success", EventList="start", Message=message)
        action_id = {"ActionID": action.get("ActionID")} if action.get("ActionID") else {}
        for entry in entries:
            self.write(format_block({**entry, **action_id}))
        self.write(format_block({"Event": complete, **action_id, "EventList": "Complete",
                                 "ListItems": str(len(entries))}))

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


__all__ = ["Replay", "Session"]

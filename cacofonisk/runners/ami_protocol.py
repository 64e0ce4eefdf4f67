"""panoramisk, adapted: the protocol fixes, a fast event parser, and the manager.

Why a module of its own: everything that patches or subclasses panoramisk
lives here, so a panoramisk upgrade touches one file (and
tests/test_panoramisk_internals.py says what this file relies on). Only
the runner modules import this (panoramisk stays out of the base import).
Secrets are blanked from panoramisk's log records here too.

What a runner's events are: every AMI event reaches ``on_event`` (and so
``ChannelManager.on_event``, ``reporter.trace_ami`` and
``reporter.on_event``) as a plain ``dict`` of str with the header names
exactly as Asterisk spelled them, a repeated header (``ChanVariable``) as a
list of its values: the same mapping a replay of a recording gives. It is
not panoramisk's ``Message``: header names are case-sensitive
(``event["Uniqueid"]``, not ``event["uniqueid"]``) and there is no
attribute access (``event.uniqueid``) or empty ``content`` key.

Why: panoramisk parses each frame into a case-insensitive ``Message``
(about 16 µs an AMI 2 event, the largest single cost of a live client),
and every header the manager then reads is a Python-level call. A plain
event frame (``Event:`` first, every line ``Name: value``, no header
twice, no ``ActionID``/``CommandID``, no ``Result``, not ``Shutdown`` or
``FullyBooted``, which panoramisk acts on itself) is split here straight
into a dict with a few C-level calls. Every other frame (responses, the
events that answer an action, anything unusual) goes through panoramisk
as before, and its events are copied into a plain dict too, so a reporter
sees one kind of mapping.
"""
from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import Callable
from itertools import repeat
from typing import Any

import panoramisk
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message
from panoramisk.utils import CaseInsensitiveDict


class _SecretFilter(logging.Filter):
    """Blanks known secrets in panoramisk's log records (defence in depth:
    it logs a failed action with its headers)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for secret in self.secrets:
            if secret:
                hidden = hidden.replace(secret, "***")
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


#: How every AMI server opens a connection: this, then its AMI version.
BANNER = "Asterisk Call Manager/"
#: Every secret of every runner's hosts, blanked in panoramisk's logs.
SECRETS = _SecretFilter()
#: panoramisk's chatter stays under the panoramisk logger name.
PANORAMISK_LOG = logging.getLogger("panoramisk.cacofonisk")
PANORAMISK_LOG.addFilter(SECRETS)


#: Header names (lower-cased) that make panoramisk treat a frame specially:
#: an action's id routes it to that action; ``Result`` values are unquoted.
_SPECIAL_KEYS = ("actionid", "commandid", "result")
#: Events panoramisk acts on itself (it drops the connection on Shutdown and
#: resends queued actions on FullyBooted): they go through panoramisk.
_PANORAMISK_EVENTS = frozenset({"shutdown", "fullybooted"})
_SPLIT = str.split


def plain_event(frame: str) -> dict[str, str] | None:
    """The headers of a plain AMI event frame as a dict; None for any other frame.

    Gives exactly the headers panoramisk's ``Message.from_line`` would (a
    property test holds the two together), for the frames it accepts: the
    event frames panoramisk would hand to its event callbacks unchanged.
    Anything else (a response, an action's event, a repeated header, a
    line without ``': '``, two names differing only in case ...) is None,
    for panoramisk to parse.

    Args:
        frame: one message without its closing blank line.
    """
    if not frame.startswith("Event: "):
        return None
    lines = frame.split("\r\n")
    try:
        headers = dict(map(_SPLIT, lines, repeat(": "), repeat(1)))
    except ValueError:  # a line without ': ' (panoramisk skips it)
        return None
    if len(headers) != len(lines):
        return None  # a repeated header: panoramisk makes it a list
    names = "\n".join(headers).lower()
    for special in _SPECIAL_KEYS:
        if special in names:
            return None
    if len(set(names.split("\n"))) != len(lines):
        return None  # names that differ only in case: one key for panoramisk
    if headers["Event"].lower() in _PANORAMISK_EVENTS:
        return None
    return headers


def plain_headers(message: Any) -> dict[str, Any]:
    """A panoramisk Message as a plain dict (header names as Asterisk sent them)."""
    return dict(message.items())


class _Panoramisk(panoramisk.Manager):  # type: ignore[misc]  # untyped library
    """panoramisk's Manager with its own reconnect and ping switched off:
    the runner does both, with backoff and a deadline.

    Args:
        on_lost: called with this manager when its connection is lost, so
            the link can tell a stale connection's loss from the current one.
        on_event: called as ``on_event(manager, headers)`` for every AMI
            event, ``headers`` a plain dict (see the module docstring):
            straight from the fast parser, or copied from panoramisk's
            Message for the frames panoramisk parses.
    """

    def __init__(self, on_lost: Callable[[Any], None],
                 on_event: Callable[[Any, dict[str, Any]], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost
        self.on_event = on_event
        self.register_event("*", _copy_to_plain)

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        self._on_lost(self)

    def ping(self) -> None:
        """Replaced by the link's keep-alive."""


def _copy_to_plain(manager: _Panoramisk, message: Any) -> None:
    """panoramisk's callback for the events it parsed itself."""
    manager.on_event(manager, plain_headers(message))


class _Message(Message):  # type: ignore[misc]  # untyped library
    """panoramisk's Message without the empty ``content`` key it gives every
    message: Asterisk never sent it, and live ``on_user_event`` data (and
    ``reporter.on_event``) must equal what a replay of the recording gives.
    ``message.content`` still reads as '' (panoramisk's attribute lookup)."""

    def __init__(self, headers: Any, content: str = "") -> None:
        if content:
            super().__init__(headers, content)
        else:
            CaseInsensitiveDict.__init__(self, headers)
            self.manager = None


class _Protocol(AMIProtocol):  # type: ignore[misc]  # untyped library
    """panoramisk's protocol without its two ways of losing data.

    panoramisk decodes each TCP read on its own with ``errors='ignore'``, so
    a UTF-8 character split across two reads (a caller name such as 'Jörg'
    in a busy stream) silently loses its bytes; and it ``strip()``s every
    message, so a last header with an empty value (``WebhookUrls: ``) loses
    its ``': '`` and is dropped. A replay of a recorded log would then differ
    from the live stream. Here the bytes go through an incremental decoder
    and only the line breaks around a message are stripped; and an event
    loses the empty ``content`` key panoramisk gives every message, which
    Asterisk never sent (a recording and a replay do not have it either).
    """

    _decoder: codecs.IncrementalDecoder | None = None
    _pending = ""
    version: str | None = None  # set by connection_made; typed here for mypy
    #: the first line the server sent (an AMI server: its banner), once known
    first_line: str | None = None
    #: set by the link to learn the first line as soon as it comes
    greeting: asyncio.Future[str] | None = None

    def data_received(self, data: bytes) -> None:
        if self._decoder is None:
            encoding = getattr(self, "encoding", None) or "utf8"
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        text = self._pending + self._decoder.decode(data)
        if self.first_line is None:
            self._note_first_line(text)
        if self.version is None and text.startswith(BANNER):
            self.version = text.partition("\r\n")[0].partition("/")[2].strip()
        blocks = text.split("\r\n\r\n")
        self._pending = blocks.pop()
        factory = self.factory
        for block in blocks:
            block = block.strip("\r\n")
            headers = plain_event(block)
            if headers is not None:
                factory.on_event(factory, headers)
                continue
            message = _Message.from_line(block)
            if message is not None:
                self.handle_message(message)

    def _note_first_line(self, text: str) -> None:
        """Keep the greeting: an AMI server opens with its banner line; a
        line that is not it (or 200 characters without one) means the peer
        is something else, and the link says so at once."""
        line, newline, _ = text.partition("\n")
        if not newline and len(text) < 200 and BANNER.startswith(text[:len(BANNER)]):
            return  # the banner may still be on its way
        self.first_line = line.rstrip("\r")[:200]
        if self.greeting is not None and not self.greeting.done():
            self.greeting.set_result(self.first_line)


__all__ = ["BANNER", "PANORAMISK_LOG", "SECRETS", "plain_event", "plain_headers"]

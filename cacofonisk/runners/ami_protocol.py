"""panoramisk, adapted: the protocol fixes and the manager the runner drives.

Why a module of its own: everything that patches or subclasses panoramisk
lives here, so a faster frame parser or a panoramisk upgrade touches one
file. Only the runner modules import this (panoramisk stays out of the
base import). Secrets are blanked from panoramisk's log records here too.
"""
from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
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


#: Every secret of every runner's hosts, blanked in panoramisk's logs.
SECRETS = _SecretFilter()
#: panoramisk's chatter stays under the panoramisk logger name.
PANORAMISK_LOG = logging.getLogger("panoramisk.cacofonisk")
PANORAMISK_LOG.addFilter(SECRETS)


class _Panoramisk(panoramisk.Manager):  # type: ignore[misc]  # untyped library
    """panoramisk's Manager with its own reconnect and ping switched off:
    the runner does both, with backoff and a deadline.

    Args:
        on_lost: called with this manager when its connection is lost, so
            the link can tell a stale connection's loss from the current one.
    """

    def __init__(self, on_lost: Callable[[Any], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        self._on_lost(self)

    def ping(self) -> None:
        """Replaced by the link's keep-alive."""


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

    def data_received(self, data: bytes) -> None:
        if self._decoder is None:
            encoding = getattr(self, "encoding", None) or "utf8"
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        text = self._pending + self._decoder.decode(data)
        if self.version is None and text.startswith("Asterisk Call Manager/"):
            self.version = text.partition("\r\n")[0].partition("/")[2].strip()
        blocks = text.split("\r\n\r\n")
        self._pending = blocks.pop()
        for block in blocks:
            message = _Message.from_line(block.strip("\r\n"))
            if message is not None:
                self.handle_message(message)


__all__ = ["PANORAMISK_LOG", "SECRETS"]

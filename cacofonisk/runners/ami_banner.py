"""What the server says it is: its AMI banner, and the dialect it speaks.

Why a module of its own: before logging in, the runner must know that the
peer is an AMI server at all (a mistyped port reaches a web or SSH server,
which would otherwise cost a login timeout per attempt), and which AMI it
speaks, from the server's own word rather than a guess from its events:
``Asterisk Call Manager/1.x`` is AMI 1 (Asterisk 1.8 to 11), 2 and later
is AMI 2+ (Asterisk 12 to 22); ``CoreSettings`` (AMIversion,
AsteriskVersion) says it when the banner does not.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from cacofonisk.errors import ConnectionFailed

from .ami_protocol import BANNER, _Protocol


async def read_banner(protocol: _Protocol, lost: asyncio.Future[None], limit: float,
                      where: str) -> str:
    """The AMI version from the banner; fails fast for a peer that is not AMI.

    Args:
        protocol: the connection's protocol (it notes the first line).
        lost: done when the connection closes.
        limit: seconds to wait for the banner.
        where: 'host:port', for the messages.

    Raises:
        ConnectionFailed: no banner within ``limit``, something else than a
            banner, or the connection closed first.
    """
    line = protocol.first_line
    if line is None:
        greeting: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        protocol.greeting = greeting
        waiting: set[asyncio.Future[Any]] = {greeting, lost}
        await asyncio.wait(waiting, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if not greeting.done():
            greeting.cancel()
            if lost.done():
                raise ConnectionFailed(f"{where} closed the connection before the AMI "
                                       f"banner: is it an Asterisk manager port?")
            raise ConnectionFailed(f"{where} sent no AMI banner within {limit:g} s: is "
                                   f"it an Asterisk manager port (manager.conf, 5038)?")
        line = greeting.result()
    if not line.startswith(BANNER):
        shown = line if len(line) <= 60 else line[:57] + "..."
        raise ConnectionFailed(f"{where} is not an AMI server: it greeted with {shown!r} "
                               f"instead of '{BANNER}<version>'")
    return line[len(BANNER):].strip()


def dialect_of(version: str | None) -> str | None:
    """'ami1' for AMI 1.x (Asterisk 1.8 to 11), 'ami2' for AMI 2 and later
    (Asterisk 12 to 22), None when the version is not a number."""
    major = (version or "").partition(".")[0].strip()
    if not major.isdigit():
        return None
    return "ami1" if int(major) < 2 else "ami2"


def dialect_of_core_settings(reply: Mapping[str, Any]) -> str | None:
    """The dialect from a CoreSettings answer: AMIversion, else AsteriskVersion
    (12 and later speak AMI 2+); None when neither says."""
    dialect = dialect_of(str(reply.get("AMIversion") or ""))
    if dialect is not None:
        return dialect
    major = str(reply.get("AsteriskVersion") or "").partition(".")[0]
    if not major.isdigit():
        return None
    return "ami2" if int(major) >= 12 else "ami1"


__all__ = ["dialect_of", "dialect_of_core_settings", "read_banner"]

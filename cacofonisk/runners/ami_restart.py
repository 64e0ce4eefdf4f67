"""A restart of Asterisk seen at a reconnect: ask ``CoreStatus``, compare.

Why: after a restart Asterisk numbers its channels from 0 again, so a call
the tracker kept from before the outage would meet a new channel that
reuses its name. A ``Shutdown`` then ``FullyBooted`` in the stream says so
(the manager sees that itself), but a killed Asterisk or one restarted
while we were away sends nothing we see. ``CoreStatus`` (Asterisk 1.6 and
later) answers ``CoreStartupDate`` and ``CoreStartupTime``: when Asterisk
last started (a ``core reload`` changes ``CoreReloadDate/Time`` only, and
keeps the channels, so it is not a restart). If that moved between two
sessions, Asterisk started again: the link then tells the manager, before
the resync, with ``RESTART_EVENT`` (an event of ours, so a ``--record``
file holds it and a replay ends the same calls at the same point).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cacofonisk.resync import RESTART_EVENT

log = logging.getLogger(__name__)

#: Sends an action and returns its reply (the link's ``_request``).
Request = Callable[[Mapping[str, str]], Awaitable[Any]]


class StartupWatch:
    """Remembers when Asterisk started, from one session to the next.

    Args:
        name: the server's name, for log messages.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        #: 'YYYY-MM-DD HH:MM:SS' of the last CoreStatus answer, None until one came
        self.started: str | None = None
        self._refusal_logged = False

    async def check(self, request: Request) -> dict[str, str] | None:
        """Ask CoreStatus; the restart event to deliver if Asterisk started again.

        The first answer only sets the reference. A refused or unanswered
        CoreStatus (the manager user lacks the ``system`` or ``reporting``
        privilege) changes nothing: it is logged once per server, and the
        restart is then only seen from Shutdown/FullyBooted in the stream.

        Raises:
            ConnectionFailed: the connection was lost meanwhile (the link's
                usual reason to reconnect).
        """
        try:
            reply = await request({"Action": "CoreStatus"})
        except TimeoutError:
            reply = None
        started = _startup_of(reply) if reply is not None and reply.success else None
        if started is None:
            self._log_refusal(reply)
            return None
        before, self.started = self.started, started
        if before is None or before == started:
            return None
        log.warning("server %r: Asterisk restarted while we were away (started %s, was "
                    "%s); the calls from before it end", self.name, started, before)
        return {"Event": RESTART_EVENT, "CoreStartup": started, "PreviousStartup": before}

    def _log_refusal(self, reply: Any) -> None:
        if self._refusal_logged:
            return
        self._refusal_logged = True
        if reply is None:
            reason = "no answer"
        elif reply.success:
            reason = "no CoreStartupDate/CoreStartupTime in the answer"
        else:
            reason = reply.get("Message") or "no reason given"
        log.warning("server %r: CoreStatus refused (%s); a restart of Asterisk while "
                    "we were away is seen only if its Shutdown reached us (give the "
                    "manager user the system or reporting privilege in manager.conf)", self.name, reason)


def _startup_of(reply: Mapping[str, Any]) -> str | None:
    """'date time' from a CoreStatus answer; None when it lacks them."""
    date = str(reply.get("CoreStartupDate") or "").strip()
    time = str(reply.get("CoreStartupTime") or "").strip()
    return f"{date} {time}" if date and time else None


__all__ = ["StartupWatch"]

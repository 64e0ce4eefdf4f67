"""The one exception hierarchy of cacofonisk.

Everything the library raises on purpose derives from ``CacofoniskError``.
Inside ``ChannelManager.on_event`` these are caught, reported through
``trace_msg`` and logged; the event that caused them is dropped. None of
them subclasses a builtin such as KeyError, so no ``except KeyError`` in user
code catches them by accident.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CacofoniskError(Exception):
    """Base class of every error cacofonisk raises on purpose."""


class MalformedEvent(CacofoniskError):
    """An AMI event lacks a field we need, or a field has a bad value.

    Args:
        raw: the AMI event as received.
        field: the AMI header that was missing or wrong.
        problem: what was wrong with it.
    """

    def __init__(self, raw: Mapping[str, Any], field: str, problem: str = "missing") -> None:
        self.raw = raw
        self.field = field
        self.problem = problem
        name = _event_name(raw)
        super().__init__(
            f"{name} event: field {field!r} is {problem}; the event is ignored "
            f"(check that Asterisk sends it, e.g. the AMI version and manager.conf)"
        )


class UnknownChannel(CacofoniskError):
    """An event names a channel we have not seen (e.g. we joined mid-call).

    Args:
        key: the Uniqueid or channel name that was looked up.
    """

    def __init__(self, key: str, event: str = "") -> None:
        self.key = key
        where = f" in {event}" if event else ""
        super().__init__(
            f"unknown channel {key!r}{where}: it was created before we started "
            f"listening, or its Newchannel was lost; the event is ignored"
        )


class ChannelGone(UnknownChannel):
    """An event names a channel that already hung up.

    Asterisk sends some updates (NewAccountCode, VarSet ...) for a channel
    after its Hangup; they change nothing and are only logged at DEBUG.
    """

    def __init__(self, key: str, event: str = "") -> None:
        CacofoniskError.__init__(self, f"{event or 'event'} for channel {key!r} after its "
                                 f"hangup: ignored")
        self.key = key


class UnknownBridge(CacofoniskError):
    """An event names a bridge we have not seen."""

    def __init__(self, key: str, event: str = "") -> None:
        self.key = key
        where = f" in {event}" if event else ""
        super().__init__(f"unknown bridge {key!r}{where}; the event is ignored")


class InvalidTransition(CacofoniskError):
    """A state machine was asked for a transition its table does not allow.

    Args:
        model: a description of the channel or call.
        state: the state it was in.
        trigger: the trigger that is not allowed there.
    """

    def __init__(self, model: str, state: str, trigger: str) -> None:
        self.model = model
        self.state = state
        self.trigger = trigger
        super().__init__(f"{model}: cannot {trigger!r} in state {state!r}; the step is ignored")


class UnknownDialect(CacofoniskError, ValueError):
    """A dialect name that is not 'ami1' or 'ami2'.

    A ValueError too, because a bad ``dialect=`` argument has always been
    one (``except ValueError`` in user code keeps working).

    Args:
        name: the name that was given.
        valid: the names that are accepted.
    """

    def __init__(self, name: object, valid: tuple[str, ...]) -> None:
        self.name = name
        super().__init__(f"unknown AMI dialect {name!r}: say one of {', '.join(valid)} "
                         f"('ami1' for Asterisk 1.8 to 11, 'ami2' for Asterisk 12 and later)")


class ConfigurationError(CacofoniskError):
    """Bad settings given by the user (a runner's hosts, a CLI option ...)."""


class GeneratedCodeOutOfDate(CacofoniskError):
    """A checked-in generated module no longer matches what it is generated from.

    Raised by the parser of a record class whose ``ami(...)`` fields changed
    after cacofonisk/parsers_generated.py was written; the message names
    the command that rewrites it.
    """


class ConnectionFailed(CacofoniskError):
    """A connection to an Asterisk server could not be made or was refused."""


class AuthenticationFailed(ConnectionFailed):
    """Asterisk refused the username or secret; retrying will not help."""


class GaveUpConnecting(ConnectionFailed):
    """The runner was told to stop after N failed first connection attempts."""


def _event_name(raw: Mapping[str, Any]) -> str:
    try:
        return str(raw.get("Event") or "unnamed")
    except Exception:  # a hostile mapping must not hide the real error
        return "unnamed"

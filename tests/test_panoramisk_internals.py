"""What cacofonisk/runners/ami_protocol.py relies on inside panoramisk.

The fast event parser takes plain event frames away from panoramisk's
protocol and hands every other frame back to it; that is only right while
panoramisk treats frames the way it did when the parser was written
(panoramisk 1.4). Each test here pins one of those internals, against the
real panoramisk classes over a real socket pair, and says what to re-check
in ami_protocol.py when a panoramisk release changes it. The fast parser's
result itself is held to ``Message.from_line`` by
tests/property/test_fast_frames.py.
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from cacofonisk.runners.ami_protocol import _Message, _Panoramisk, _Protocol, plain_event

CHANGED = ("panoramisk {} changed {}; cacofonisk/runners/ami_protocol.py relies on it "
           "(see its module docstring): re-check the fast parser before allowing this release")
VERSION = importlib.metadata.version("panoramisk")


def changed(what: str) -> str:
    return CHANGED.format(VERSION, what)


def test_the_installed_panoramisk_is_a_release_the_fast_parser_was_checked_against() -> None:
    major, minor = (int(part) for part in VERSION.split(".")[:2])
    assert (major, minor) >= (1, 4) and major < 2, changed("its major version")


def test_message_from_line_is_the_parser_the_slow_path_calls() -> None:
    assert isinstance(inspect.getattr_static(Message, "from_line"), classmethod), \
        changed("Message.from_line")
    message = _Message.from_line("Event: Newstate\r\nUniqueid: a-1.1\r\nChanVariable: X=1\r\n"
                                "ChanVariable: Y=2")
    assert dict(message.items()) == {"Event": "Newstate", "Uniqueid": "a-1.1",
                                     "ChanVariable": ["X=1", "Y=2"]}, changed("Message.from_line")


def test_only_result_values_are_unquoted_and_ids_come_from_actionid_or_commandid() -> None:
    assert [key.lower() for key in Message.quoted_keys] == ["result"], \
        changed("Message.quoted_keys")
    assert Message({"ActionID": "a"}).id == "a", changed("Message.id")
    assert Message({"CommandID": "c"}).id == "c", changed("Message.id")
    assert Message({"Event": "Newstate"}).id is None, changed("Message.id")


def test_the_message_subclass_still_builds_on_the_case_insensitive_store() -> None:
    message = _Message({"Event": "Newstate", "Uniqueid": "a-1.1"})
    assert message["uniqueid"] == "a-1.1" and "content" not in message, \
        changed("CaseInsensitiveDict/Message.__init__")
    assert message.manager is None


def test_the_manager_has_only_the_fullybooted_callback_of_its_own() -> None:
    pano = Manager()
    assert set(pano.callbacks) <= {"FullyBooted"}, changed("the Manager's own callbacks")


@pytest.fixture
async def connected() -> AsyncIterator[tuple[_Protocol, Any, list[Any], list[Any]]]:
    """A real _Protocol on one end of a socket pair, attached to a real _Panoramisk."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    events: list[Any] = []
    lost: list[Any] = []
    pano = _Panoramisk(lost.append, lambda manager, event: events.append(event), loop=loop,
                       ping_delay=3600)
    transport, protocol = await loop.create_connection(_Protocol, sock=ours)
    made = loop.create_future()
    made.set_result((transport, protocol))
    pano.connection_made(made)
    try:
        yield protocol, pano, events, lost
    finally:
        pano.close()
        theirs.close()


async def test_connection_made_gives_the_protocol_its_manager_and_response_table(
        connected: tuple[_Protocol, Any, list[Any], list[Any]]) -> None:
    protocol, pano, _events, _lost = connected
    assert protocol.factory is pano, changed("Manager.connection_made (protocol.factory)")
    assert protocol.responses is pano.responses, changed("Manager.connection_made (responses)")
    assert isinstance(protocol, AMIProtocol)


async def test_an_event_that_answers_an_action_goes_to_that_action_not_to_the_callbacks(
        connected: tuple[_Protocol, Any, list[Any], list[Any]]) -> None:
    protocol, pano, events, _lost = connected
    reply = pano.send_action({"Action": "CoreShowChannels"})
    action_id = next(iter(protocol.responses))
    frames = (f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n\r\n"
              f"Event: CoreShowChannel\r\nActionID: {action_id}\r\nChannel: SIP/a-1\r\n\r\n"
              f"Event: CoreShowChannelsComplete\r\nActionID: {action_id}\r\n"
              f"EventList: Complete\r\n\r\nEvent: Newstate\r\nUniqueid: a-1.1\r\n\r\n")
    protocol.data_received(frames.encode())
    assert events == [{"Event": "Newstate", "Uniqueid": "a-1.1"}], \
        changed("AMIProtocol.handle_message (routing by ActionID)")
    assert [m.get("Event") for m in await reply][1:] == ["CoreShowChannel",
                                                          "CoreShowChannelsComplete"]


async def test_panoramisk_still_drops_the_connection_on_shutdown_and_it_reaches_the_runner(
        connected: tuple[_Protocol, Any, list[Any], list[Any]]) -> None:
    protocol, pano, events, lost = connected
    assert plain_event("Event: Shutdown\r\nShutdown: Cleanly") is None
    protocol.data_received(b"Event: Shutdown\r\nShutdown: Cleanly\r\nRestart: True\r\n\r\n")
    assert lost == [pano], changed("AMIProtocol.handle_message (Shutdown)")
    assert events == [{"Event": "Shutdown", "Shutdown": "Cleanly", "Restart": "True"}]
    assert type(events[0]) is dict

"""The fast AMI event parser gives exactly the headers panoramisk would.

``runners/ami_protocol.plain_event`` splits plain event frames itself and
leaves every other frame to panoramisk's ``Message.from_line``. Two
properties hold them together:

* on ANY frame (random header names in any case, ActionID/Result headers,
  repeated headers, lines without ``': '``, values with colons, spaces and
  non-ASCII), whenever the fast parser accepts a frame, panoramisk parses
  it into the same headers in the same order, as an event that its
  protocol would hand to the event callbacks unchanged;
* every well-formed plain event frame (what Asterisk sends for the events
  cacofonisk follows) IS accepted, so the fast path is really taken.
"""
from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk.runners.ami_protocol import _Message, plain_event, plain_headers

_REAL_NAMES = ["Uniqueid", "Channel", "Linkedid", "CallerIDNum", "CallerIDName",
               "ChannelState", "ChannelStateDesc", "DestUniqueid", "Exten", "Context",
               "Privilege", "Timestamp", "SystemName", "Cause", "Cause-txt", "BridgeUniqueid",
               "Variable", "Value", "AccountCode", "ConnectedLineNum"]
_SPECIAL = ["ActionID", "CommandID", "Result"]
_EVENTS = ["Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd", "BridgeEnter",
           "VarSet", "UserEvent", "CoreShowChannel"]
_PANORAMISK_EVENTS = ["Shutdown", "FullyBooted"]

#: Header values: any text on one line (colons, spaces, %-escapes, non-ASCII).
values = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                 max_size=30)
def any_case(name: str) -> st.SearchStrategy[str]:
    """``name`` in any mix of upper and lower case."""
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(name, upper)))


@st.composite
def plain_frames(draw: st.DrawFn) -> str:
    """Well-formed plain event frames: distinct ordinary header names."""
    event = draw(st.sampled_from(_EVENTS))
    chosen = draw(st.lists(st.sampled_from(_REAL_NAMES), unique_by=str.lower, max_size=15))
    lines = [f"Event: {event}"] + [f"{name}: {draw(values)}" for name in chosen]
    return "\r\n".join(lines)


TRAPS = ["none", "special header", "repeated header", "name in another case",
         "line without ': '", "panoramisk's own event", "not an event first",
         "random name"]


@st.composite
def any_frames(draw: st.DrawFn) -> str:
    """A plain event frame with at most one trap the fast parser must notice.

    One trap at a time, anywhere in the frame: a header panoramisk treats
    specially (ActionID, CommandID, Result, in any case), a header given
    twice, a name given again in another case, a line without ``': '``,
    an event panoramisk acts on itself, a frame that is not an event, or a
    random header name. ``none`` leaves the frame plain.
    """
    lines = draw(plain_frames()).split("\r\n")
    trap = draw(st.sampled_from(TRAPS))
    where = draw(st.integers(1, len(lines)))
    if trap == "special header":
        name = draw(st.sampled_from(_SPECIAL).flatmap(any_case))
        lines.insert(where, f"{name}: {draw(values)}")
    elif trap in ("repeated header", "name in another case") and len(lines) > 1:
        name = lines[draw(st.integers(0, len(lines) - 1))].split(": ", 1)[0]
        if trap == "name in another case":
            name = draw(any_case(name))
        lines.insert(where, f"{name}: {draw(values)}")
    elif trap == "line without ': '":
        lines.insert(where, draw(st.sampled_from(["", "NoColonHere", "Key:NoSpace", "Key:"])))
    elif trap == "panoramisk's own event":
        lines[0] = "Event: " + draw(st.sampled_from(_PANORAMISK_EVENTS).flatmap(any_case))
    elif trap == "not an event first":
        lines[0] = draw(st.sampled_from(["Response: Success", "event: Newstate",
                                         "Channel: SIP/a-1"]))
    elif trap == "random name":
        name = draw(st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"),
                                          max_codepoint=0x7f), min_size=1, max_size=12))
        lines.insert(where, f"{name}: {draw(values)}")
    return "\r\n".join(lines)


def panoramisk_event(frame: str) -> dict[str, Any] | None:
    """What panoramisk hands to the event callbacks for ``frame``, as a plain dict."""
    message = _Message.from_line(frame)
    if message is None or message.id is not None or "event" not in message:
        return None
    return plain_headers(message)


@given(any_frames())
def test_any_frame_the_fast_parser_accepts_gives_panoramisks_headers_in_order(frame: str
                                                                             ) -> None:
    fast = plain_event(frame)
    if fast is not None:
        slow = panoramisk_event(frame)
        assert slow is not None
        assert list(fast.items()) == list(slow.items())
        assert fast["Event"].lower() not in ("shutdown", "fullybooted")


@given(plain_frames())
def test_every_plain_event_frame_is_parsed_fast_into_panoramisks_headers(frame: str) -> None:
    fast = plain_event(frame)
    assert fast is not None, f"fell back to panoramisk: {frame!r}"
    assert list(fast.items()) == list(panoramisk_event(frame).items())  # type: ignore[union-attr]

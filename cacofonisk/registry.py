"""Where the tracker keeps its channels, bridges and calls.

Everything here is keyed for O(1) lookup and freed as soon as Asterisk
says the thing is gone, so memory is bounded by what is in flight.
"""
from __future__ import annotations

from collections.abc import Callable

from .bridges import Bridge
from .errors import ChannelGone, UnknownBridge, UnknownChannel
from .fsm.call import Call
from .fsm.channel import Channel


#: How many hung-up channels (Uniqueids and names) at least to remember, to
#: recognise events that Asterisk sends for a channel after its Hangup (e.g.
#: NewAccountCode); up to twice as many are kept between two trims.
RECENTLY_GONE = 4096

#: What ``CallRegistry`` makes a new call with. A module global rather than
#: ``Call`` itself so that a test can watch the tracker's own calls on both
#: builds: with the compiled core, ``Call`` is a native class whose
#: ``__init__`` cannot be patched, and compiled code calls it directly;
#: this name is looked up at each new call (once per call, not per event).
new_call: Callable[[str], Call] = Call


class ChannelRegistry:
    """Channels by Uniqueid and by current name, and the last hung-up Uniqueids."""

    __slots__ = ("_by_id", "_by_name", "_gone", "get", "get_by_name", "count")

    def __init__(self) -> None:
        self._by_id: dict[str, Channel] = {}
        self._by_name: dict[str, Channel] = {}
        self._gone: dict[str, None] = {}
        #: The channel with this Uniqueid, or None: the fast path of lookups,
        #: the dict's own ``get`` (no Python frame per lookup).
        self.get: Callable[[str], Channel | None] = self._by_id.get
        #: The channel that now has this name, or None (the dict's ``get``).
        self.get_by_name: Callable[[str], Channel | None] = self._by_name.get
        #: How many channels are held (the dict's ``__len__``: no Python frame).
        self.count: Callable[[], int] = self._by_id.__len__

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._by_id.values()))

    def __contains__(self, uniqueid: object) -> bool:
        return uniqueid in self._by_id

    def add(self, channel: Channel) -> None:
        """Register a new channel."""
        self._by_id[channel.uniqueid] = channel
        self._by_name[channel.name] = channel

    def by_id(self, uniqueid: str, event: str = "") -> Channel:
        """The channel with this Uniqueid; ChannelGone/UnknownChannel if none."""
        channel = self._by_id.get(uniqueid)
        if channel is None:
            raise self.missing(uniqueid, event)
        return channel

    def by_name(self, name: str, event: str = "") -> Channel:
        """The channel that now has this name; UnknownChannel if none."""
        channel = self._by_name.get(name)
        if channel is None:
            raise self.missing(name, event)
        return channel

    def missing(self, key: str, event: str = "") -> UnknownChannel:
        """The error for a lookup that failed: ChannelGone if it hung up lately."""
        if key in self._gone:
            return ChannelGone(key, event)
        return UnknownChannel(key, event)

    def find(self, uniqueid: str | None = None, name: str | None = None) -> Channel | None:
        """Look up by Uniqueid, else by name; None when neither is known."""
        if uniqueid:
            channel = self._by_id.get(uniqueid)
            if channel is not None:
                return channel
        if name:
            return self._by_name.get(name)
        return None

    def rename(self, channel: Channel, new_name: str) -> None:
        """Give a channel a new name (1.x Rename)."""
        if self._by_name.get(channel.name) is channel:
            del self._by_name[channel.name]
        channel.set_name(new_name)
        self._by_name[new_name] = channel

    def remove(self, channel: Channel) -> None:
        """Forget a channel."""
        if self._by_id.get(channel.uniqueid) is channel:
            del self._by_id[channel.uniqueid]
        if self._by_name.get(channel.name) is channel:
            del self._by_name[channel.name]
        gone = self._gone
        gone[channel.uniqueid] = None
        gone[channel.name] = None
        if len(gone) > 2 * RECENTLY_GONE:
            # keep the newest; amortised O(1) per channel, with plain dict stores
            self._gone = dict.fromkeys(list(gone)[-RECENTLY_GONE:])

    def oldest(self) -> Channel | None:
        """The channel registered first (dicts keep insertion order), or None."""
        for channel in self._by_id.values():
            return channel
        return None

    def clear(self) -> None:
        """Forget every channel."""
        self._by_id.clear()
        self._by_name.clear()

    def forget_gone(self) -> None:
        """Forget the recently hung-up ids and names too (a restarted server reuses names)."""
        self._gone.clear()


class BridgeRegistry:
    """2+ bridges by BridgeUniqueid."""

    __slots__ = ("_by_id",)

    def __init__(self) -> None:
        self._by_id: dict[str, Bridge] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._by_id.values()))

    def get(self, uniqueid: str, event: str = "") -> Bridge:
        """The bridge; UnknownBridge if we never saw it."""
        bridge = self._by_id.get(uniqueid)
        if bridge is None:
            raise UnknownBridge(uniqueid, event)
        return bridge

    def find(self, uniqueid: str) -> Bridge | None:
        """The bridge, or None."""
        return self._by_id.get(uniqueid)

    def ensure(self, uniqueid: str, bridge_type: str = "", technology: str = "") -> Bridge:
        """The bridge, created if we joined after its BridgeCreate."""
        bridge = self._by_id.get(uniqueid)
        if bridge is None:
            bridge = Bridge(uniqueid, bridge_type, technology)
            self._by_id[uniqueid] = bridge
        return bridge

    def remove(self, uniqueid: str) -> Bridge | None:
        """Forget a bridge; returns it if it was known."""
        return self._by_id.pop(uniqueid, None)

    def clear(self) -> None:
        """Forget every bridge."""
        self._by_id.clear()


class CallRegistry:
    """Calls by call id, each anchored to the channel that started it."""

    __slots__ = ("_by_id",)

    def __init__(self) -> None:
        self._by_id: dict[str, Call] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._by_id.values()))

    def get_or_create(self, call_id: str) -> Call:
        """The call with this id, started if new."""
        call = self._by_id.get(call_id)
        if call is None:
            call = new_call(call_id)
            self._by_id[call_id] = call
        return call

    def find(self, call_id: str) -> Call | None:
        """The call, or None."""
        return self._by_id.get(call_id)

    def remove(self, call_id: str) -> Call | None:
        """Forget a call."""
        return self._by_id.pop(call_id, None)

    def clear(self) -> None:
        """Forget every call."""
        self._by_id.clear()

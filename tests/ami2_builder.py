"""A tiny hand-driven builder of AMI 2 events for unit tests of the 2+ rules.

Each method appends the events Asterisk 13-22 sends for one step, with the
header names of the real recordings. Steps are explicit so a test reads as
the story it checks.
"""
from __future__ import annotations

from typing import Any


class Ami2:
    """Builds an AMI 2 event list: ``Ami2().phone('a', '201')...events``."""

    def __init__(self, prefix: str = "t") -> None:
        self.prefix = prefix
        self.events: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.numbers: dict[str, str] = {}
        self.linked: dict[str, str] = {}
        self._seq = 0

    def uid(self, key: str) -> str:
        return f"{self.prefix}-1600000000.{key}"

    def _snap(self, key: str, state: int = 0) -> dict[str, Any]:
        return {"Channel": self.names[key], "Uniqueid": self.uid(key),
                "Linkedid": self.uid(self.linked[key]), "CallerIDNum": self.numbers[key],
                "CallerIDName": f"Name {self.numbers[key]}", "ChannelState": str(state),
                "AccountCode": "", "Exten": "s", "Context": "internal"}

    def add(self, event: str, **fields: Any) -> Ami2:
        self.events.append({"Event": event, **{k: str(v) for k, v in fields.items()}})
        return self

    def channel(self, key: str, number: str, exten: str = "s", linked: str | None = None,
                tech: str = "PJSIP") -> Ami2:
        """Newchannel for a party (``linked``: the key of the call's first channel)."""
        self._seq += 1
        self.names[key] = f"{tech}/{number}-{self._seq:08x}"
        self.numbers[key] = number
        self.linked[key] = linked or key
        snap = self._snap(key)
        snap["Exten"] = exten
        return self.add("Newchannel", **snap)

    def state(self, key: str, state: int) -> Ami2:
        return self.add("Newstate", **self._snap(key, state))

    def dial(self, src: str, dst: str) -> Ami2:
        return self.add("DialBegin", Uniqueid=self.uid(src), Channel=self.names[src],
                        DestUniqueid=self.uid(dst), DestChannel=self.names[dst],
                        DialString=self.numbers[dst])

    def dial_state(self, src: str, dst: str, status: str = "RINGING") -> Ami2:
        return self.add("DialState", Uniqueid=self.uid(src), DestUniqueid=self.uid(dst),
                        DialStatus=status)

    def dial_end(self, src: str, dst: str, status: str = "ANSWER") -> Ami2:
        return self.add("DialEnd", Uniqueid=self.uid(src), Channel=self.names[src],
                        DestUniqueid=self.uid(dst), DialStatus=status)

    def bridge(self, bridge: str, *keys: str, bridge_type: str = "basic") -> Ami2:
        self.add("BridgeCreate", BridgeUniqueid=bridge, BridgeType=bridge_type)
        for key in keys:
            self.enter(bridge, key, bridge_type=bridge_type)
        return self

    def enter(self, bridge: str, key: str, bridge_type: str = "basic", swap: str = "") -> Ami2:
        return self.add("BridgeEnter", BridgeUniqueid=bridge, BridgeType=bridge_type,
                        SwapUniqueid=swap, **self._snap(key, 6))

    def leave(self, bridge: str, key: str) -> Ami2:
        return self.add("BridgeLeave", BridgeUniqueid=bridge, BridgeType="basic",
                        **self._snap(key, 6))

    def destroy(self, bridge: str) -> Ami2:
        return self.add("BridgeDestroy", BridgeUniqueid=bridge, BridgeType="basic")

    def hangup(self, key: str, cause: int = 16, state: int = 6) -> Ami2:
        snap = self._snap(key, state)
        return self.add("Hangup", Cause=cause, **{"Cause-txt": "x"}, **snap)

    def answered_call(self, a: str, a_num: str, b: str, b_num: str, bridge: str,
                      exten: str | None = None) -> Ami2:
        """``a`` calls ``b``; ``b`` rings, answers; both enter ``bridge``."""
        (self.channel(a, a_num, exten=exten or b_num).state(a, 4)
         .channel(b, b_num, linked=a).dial(a, b).state(b, 5).dial_state(a, b)
         .state(b, 6).dial_end(a, b).state(a, 6).bridge(bridge, b, a))
        return self

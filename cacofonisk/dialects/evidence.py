"""Which AMI dialect a stream speaks, decided from well-formed evidence only.

Asterisk 12 and later (AMI 2+) put ``Linkedid`` in every channel event and
send events that Asterisk 1.8-11 (AMI 1.x) never sends (``DialBegin``,
``BridgeEnter`` ...); AMI 1.x has its own (``Dial``, ``Bridge``,
``Masquerade`` ...) and no ``Linkedid``. One event proves nothing, though:
a malformed event, or one stray event of the other dialect, used to lock a
manager into the wrong dialect for good (issue 11, item 19: after a damaged
start, 26 of 300 managers misreported a clean recording).

So a vote counts only when

* the event parsed into its record (a malformed event is no evidence), and
* it tells the story of a channel from its birth: a well-formed
  ``Newchannel`` claims a dialect for its Uniqueid (with ``Linkedid``:
  AMI 2; without: AMI 1), and the next well-formed event about that
  Uniqueid confirms the claim or discards it. A lone stray event, even
  one only a dialect has, names a channel nothing else talks about and
  decides nothing.

What a later event says about a claimed channel:

========================================== ==========================
event                                       says
========================================== ==========================
any event with a ``Linkedid`` header        AMI 2
an AMI 2-only event (``DialBegin`` ...)     AMI 2
anything else (no ``Linkedid``)             AMI 1
========================================== ==========================

The first confirmed channel decides. When a server says which AMI it speaks (the AMI banner,
``CoreSettings``), runners call ``ChannelManager.declare_dialect`` and no
guessing is needed.

This module is pure: the manager feeds it records and holds the events
back until it decides (see ``ChannelManager``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import events as ami

AMI1 = "ami1"
AMI2 = "ami2"
#: At most this many channels are followed while undecided (a stream of
#: strays cannot grow it without bound).
MAX_CLAIMS = 4096


def dialect_of_version(version: str) -> str:
    """The dialect of an AMI protocol version, as the login banner gives it.

    ``Asterisk Call Manager/1.3`` (Asterisk 11) is 'ami1';
    ``Asterisk Call Manager/2.10.3`` and later (Asterisk 12 to 22) are 'ami2'.
    The bare version ('1.1', '5.0.1') is accepted too.

    Raises:
        ValueError: no version number in ``version``.
    """
    text = version.rsplit("/", 1)[-1].strip()
    major = text.split(".", 1)[0]
    if not major.isdecimal():
        raise ValueError(f"no AMI version number in {version!r} (expected e.g. "
                         f"'Asterisk Call Manager/2.10.3' or '1.3')")
    return AMI1 if int(major) < 2 else AMI2


def word_of(record: ami.AmiEvent, raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """(Uniqueid, what the event says) for a well-formed record, or None if it says nothing."""
    uniqueid = getattr(record, "uniqueid", None) or getattr(record, "dest_uniqueid", None)
    if not uniqueid or not isinstance(uniqueid, str):
        return None
    if "Linkedid" in raw or record.EVENT in ami.AMI2_ONLY:
        return uniqueid, AMI2
    return uniqueid, AMI1


class DialectEvidence:
    """Collects what well-formed events say about their channels until one is confirmed.

    Attributes:
        decided: 'ami1' or 'ami2' once a channel's story confirmed it, else None.
    """

    __slots__ = ("decided", "_claims", "_votes")

    def __init__(self) -> None:
        self.decided: str | None = None
        #: Uniqueid -> the dialect its Newchannel claimed ('' once discarded).
        self._claims: dict[str, str] = {}
        #: How many channels claimed each dialect (unconfirmed): the best guess.
        self._votes: dict[str, int] = {AMI1: 0, AMI2: 0}

    def concerns(self, record: ami.AmiEvent) -> bool:
        """Whether a well-formed record is part of a channel's story (a Newchannel or later)."""
        if self.decided is not None:
            return False
        uniqueid = getattr(record, "uniqueid", None) or getattr(record, "dest_uniqueid", None)
        if not uniqueid or not isinstance(uniqueid, str):
            return False
        return record.EVENT == "Newchannel" or bool(self._claims.get(uniqueid))

    def observe(self, record: ami.AmiEvent, raw: Mapping[str, Any]) -> str | None:
        """Take one well-formed record into account; the dialect once decided."""
        if self.decided is not None:
            return self.decided
        word = word_of(record, raw)
        if word is None:
            return None
        uniqueid, says = word
        claim = self._claims.get(uniqueid)
        if record.EVENT == "Newchannel":
            if claim is None and len(self._claims) < MAX_CLAIMS:
                self._claims[uniqueid] = says
                self._votes[says] += 1
            return None  # a second Newchannel for one Uniqueid confirms nothing
        if not claim:
            return None  # no Newchannel seen, or a channel that contradicted itself
        if claim == says:
            self.decided = claim
            return claim
        self._claims[uniqueid] = ""
        self._votes[claim] -= 1
        return None

    def best_guess(self) -> str | None:
        """The dialect most unconfirmed channels claimed (None on a tie).

        Used only when the stream goes quiet or too many events wait,
        before any channel confirmed a dialect.
        """
        ami1, ami2 = self._votes[AMI1], self._votes[AMI2]
        if ami1 == ami2:
            return None
        return AMI1 if ami1 > ami2 else AMI2

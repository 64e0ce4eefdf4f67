"""Event ids made from Asterisk's own data, so a re-tracked stream gives the same ids.

Why: a call-event record's ``event_id`` is the de-duplication key of every
durable sink (JetStream's ``Nats-Msg-Id``, a webhook's ``webhook-id``). A
worker that takes a server over mid-stream (failover) or a process that
restarts and replays must produce the *same* id for the same AMI events, so
a copy sent twice is dropped. A counter of the process (the old
``"<call_id>#<n>"``) restarts at 0 and would give a different record the id
of an old one.

The id is ``"<call_id>:<hook>:<Timestamp>"`` when the AMI event carries a
``Timestamp`` (``timestampevents=yes`` in manager.conf; microseconds), with
``":<k>"`` appended for the k-th (k >= 1) record of the same hook and call
made by that same AMI event. Without a Timestamp it is
``"<call_id>:<hook>:#<k>"``: k counts the call's records of that hook. That
is still the same on every replay of a log and for any tracker that saw the
call from its start, but a tracker that attaches mid-call restarts k: run
Asterisk with ``timestampevents=yes`` where failover matters.

Pure: no clock, no I/O; memory is bounded (counts of calls long gone are
trimmed, as registry.py trims its recently-gone channels).
"""
from __future__ import annotations

#: counts kept for calls without timestamps before the oldest half is dropped
KEPT_COUNTS = 20_000


class EventIds:
    """Hands out stable event ids for one server's records."""

    __slots__ = ("_stamp", "_in_event", "_per_call")

    def __init__(self) -> None:
        self._stamp: float | None = None
        #: (call_id, hook) -> records made so far by the current AMI event
        self._in_event: dict[tuple[str, str], int] = {}
        #: (call_id, hook) -> records so far, for streams without timestamps
        self._per_call: dict[tuple[str, str], int] = {}

    def next_id(self, call_id: str, hook: str, timestamp: float | None) -> str:
        """The id of the next record of ``hook`` for ``call_id``.

        Args:
            call_id: the call's id (Asterisk Uniqueid).
            hook: the record's hook name (``calls.CallEvent.HOOK``).
            timestamp: the AMI Timestamp of the event being applied, or None.
        """
        key = (call_id, hook)
        if timestamp is None:
            counts = self._per_call
            k = counts.get(key, 0)
            counts[key] = k + 1
            if len(counts) > 2 * KEPT_COUNTS:
                self._per_call = dict(list(counts.items())[-KEPT_COUNTS:])
            return f"{call_id}:{hook}:#{k}"
        if timestamp != self._stamp:
            self._stamp = timestamp
            self._in_event.clear()
        k = self._in_event.get(key, 0)
        self._in_event[key] = k + 1
        stamp = f"{call_id}:{hook}:{timestamp:.6f}"
        return f"{stamp}:{k}" if k else stamp

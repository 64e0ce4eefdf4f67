"""The call machine: the conversation that a caller's channels form.

This machine is the only emitter of call events: every reporter hook call
is the ``after`` callback of one of its transitions, which appends the
record it was given to the manager's outbox. The dialect rules decide
*what* happened; this table decides whether it may happen in the call's
state (nothing after the hangup, no answer of a merged call ...).

Transitions, in words (``cacofonisk diagram call -o call.svg`` draws them)::

    new|ringing|up|transferred  --ring------>  ringing      on_b_dial
    any live                    --dial_end-->  (stays)      on_b_dial_end
    new|ringing|up|transferred  --answer---->  up           on_up
    new|ringing|up|transferred  --transfer-->  transferred  on_warm/cold/blind/blonde_transfer
    any live                    --abandon--->  (stays)      on_queue_caller_abandon
    any live                    --merge----->  merged       (the other call of a transfer; no hook)
    any live                    --end------->  ended        on_hangup
    any live  --hold|unhold|park|park_end|queue_join|queue_leave|
                conference_join|conference_leave-->  (stays)  the state hooks

The state hooks do not move the call: a held, parked, queued or
conferenced call is still ringing or up. What they say is folded into the
call's ``view`` (``callview.py``), from which ``ChannelManager.snapshot()``
is built.

``merged`` and ``ended`` are final: the registry frees the call once the
channel that anchors it (the one whose Uniqueid is the call id) is gone.
"""
from __future__ import annotations

from enum import Enum

from ..callview import CallView
from ..calls import CallEvent
from .engine import MachineDef, Rule, Step, define


class CallState(Enum):
    """Where a call is in its life."""

    # Members are singletons: identity hashing is exact, and C-level, where
    # Enum's own __hash__ is a Python call on every machine-table lookup.
    __hash__ = object.__hash__

    #: known (a caller exists) but nothing reported yet
    NEW = "new"
    #: B side ringing (on_b_dial sent)
    RINGING = "ringing"
    #: answered (on_up sent)
    UP = "up"
    #: the result of a transfer, waiting for its new party
    TRANSFERRED = "transferred"
    #: absorbed into another call by a transfer
    MERGED = "merged"
    #: on_hangup sent
    ENDED = "ended"


def _emit(step: Step) -> None:
    """Append the call event handed to ``fire`` to the outbox, numbered."""
    record: CallEvent = step.data["record"]
    call: Call = step.model
    call.path.append(step.trigger)
    step.data["outbox"].append((call, record))


def _note(step: Step) -> None:
    step.model.path.append(step.trigger)


_C = CallState
_LIVE = (_C.NEW, _C.RINGING, _C.UP, _C.TRANSFERRED)

CALL_RULES: tuple[Rule, ...] = (
    Rule("ring", _LIVE, _C.RINGING, (_emit,)),
    Rule("dial_end", _LIVE, None, (_emit,)),
    Rule("answer", _LIVE, _C.UP, (_emit,)),
    Rule("transfer", _LIVE, _C.TRANSFERRED, (_emit,)),
    Rule("abandon", _LIVE, None, (_emit,)),
    Rule("merge", _LIVE, _C.MERGED, (_note,)),
    Rule("end", _LIVE, _C.ENDED, (_emit,)),
    # the state hooks (docs/state-hooks.md): reported, the state stays
    *(Rule(trigger, _LIVE, None, (_emit,))
      for trigger in ("hold", "unhold", "park", "park_end", "queue_join", "queue_leave",
                      "conference_join", "conference_leave")),
)

CALL_MACHINE: MachineDef[CallState] = define("call", CallState, CallState.NEW, CALL_RULES)

FINAL_STATES = frozenset({CallState.MERGED, CallState.ENDED})


class Call:
    """One call, keyed by its call id.

    Attributes:
        call_id: the Uniqueid of the channel that started it.
        state: the machine state (CallState).
        path: the triggers it went through, in order (for diagrams).
        seq: number of call events it has reported so far (event ids are
            numbered per server by the tracker).
        view: what its reported call events say it is now (parties,
            times, hold, park, queue, conference), for ``snapshot()``.
    """

    __slots__ = ("call_id", "state", "path", "seq", "view")

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.state = CallState.NEW
        self.path: list[str] = []
        self.seq = 0
        self.view = CallView()

    def __repr__(self) -> str:
        return f"<Call {self.call_id} {self.state.value}>"

    @property
    def is_final(self) -> bool:
        """Merged or ended: nothing more will be reported for it."""
        return self.state in FINAL_STATES

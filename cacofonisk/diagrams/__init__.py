"""Pictures of what happened: per-call paths through the call machine and timelines.

Modules: ``model`` (marks, channel lives, call histories, a log's
channel groups), ``channels`` (what each parsed AMI record means for the
lanes), ``collect`` (the reporter) and ``timeline`` (the SVG).

``collect.CallCollector`` is a reporter that sits beside the user's
reporter during a replay (``cacofonisk replay FILE --diagram DIR``). It
sees every raw AMI event (``trace_ami``) and every call event
(``on_call_event``), and from them keeps, per call, the call events and the
triggers its call machine went through, and per channel what it did
(created, dial, ringing, up, bridge, transfer, hangup ...).
``timeline.render_svg`` draws one call as a self-contained SVG: one lane per
channel, AMI event order along the axis. The state diagrams themselves live
in ``cacofonisk.fsm.diagram``.

Nothing here is imported by the manager: it is a consumer of the reporter
API, like any user's reporter.
"""
from __future__ import annotations

from .collect import TRIGGER_OF, CallCollector
from .model import CallHistory, ChannelLife, Happening, LogView
from .timeline import Timeline, build_timeline, render_svg

__all__ = ["CallCollector", "CallHistory", "ChannelLife", "Happening", "LogView", "TRIGGER_OF",
           "Timeline", "build_timeline", "render_svg"]

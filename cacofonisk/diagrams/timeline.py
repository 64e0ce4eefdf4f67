"""A call's timeline as one self-contained SVG file.

One lane for the call itself (its call events: b_dial, up, transfer,
hangup ...) and one lane per channel of the call's group (created, dial,
ringing, up, bridge, transfer, hangup), each labelled with its caller id and
channel name. Along the axis: AMI time when every mark has a ``Timestamp``,
else the sequence number of the AMI event in the log (the lab recordings
have no timestamps). Positions are proportional to that value but never
closer than ``MIN_GAP`` pixels, so a burst of events stays readable while
the order is always kept.

Every mark is an SVG group ``<g class="mark" data-kind=... data-lane=...
data-party=... data-seq=... data-x=...>`` with a ``<title>`` (the browser's
tooltip), so tests and tools can read the picture back with any XML parser.
No script, no external stylesheet or font: it opens in any browser.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

import attrs

from .model import CallHistory, ChannelLife, Happening

MIN_GAP = 48.0          #: least distance between two distinct moments, px
SPAN_TARGET = 900.0     #: width the whole call is scaled to before MIN_GAP, px
LEFT = 250.0            #: width of the lane titles, px
LANE_H = 92.0           #: height of one lane, px
TOP = 70.0              #: room for the title, px
LABEL_MAX = 34          #: characters of a mark label (the tooltip has it all)

#: mark colours by kind (channel happenings and call-machine triggers)
COLOURS = {
    "created": "#7f8c8d", "dial": "#8e44ad", "dial_end": "#a569bd", "ring": "#95a5a6",
    "dialing": "#95a5a6", "ringing": "#e69b00", "busy": "#c0392b", "up": "#1e8449",
    "bridge": "#1f5fbf", "unbridge": "#7fa7e6", "transfer": "#d62728",
    "transferred": "#d62728", "hangup": "#222222", "hold": "#7f7f7f", "unhold": "#7f7f7f",
    "masquerade": "#c0392b", "pickup": "#e67e22", "queue": "#17a2b8", "user_event": "#17a2b8",
}
#: mark colours on the call lane, by call-machine trigger
CALL_COLOURS = {"ring": "#e69b00", "dial_end": "#a569bd", "answer": "#1e8449",
                "transfer": "#d62728", "abandon": "#7f7f7f", "merge": "#d62728",
                "end": "#222222"}
#: lane bar colours by channel state
STATE_COLOURS = {"down": "#d5d8dc", "dialing": "#d2b4de", "ringing": "#f8c471",
                 "up": "#82e0aa", "bridged": "#5dade2", "held": "#bfc9ca"}


@attrs.frozen(slots=True)
class Lane:
    """One row: the call's own lane or one channel's."""

    key: str
    title: str
    subtitle: str
    party: str
    marks: tuple[Happening, ...]
    spans: tuple[tuple[float, float, str], ...] = ()
    is_call: bool = False


@attrs.frozen(slots=True)
class Timeline:
    """Everything ``render_svg`` draws."""

    title: str
    subtitle: str
    axis: str
    lanes: tuple[Lane, ...]
    uses_time: bool


def _key(mark: Happening, uses_time: bool) -> float:
    return float(mark.time) if uses_time and mark.time is not None else float(mark.seq)


def _channel_lane(life: ChannelLife, uses_time: bool, end: float) -> Lane:
    times = {m.seq: _key(m, uses_time) for m in life.happenings}
    spans: list[tuple[float, float, str]] = []
    for index, (seq, state) in enumerate(life.states):
        if state == "gone":
            break
        stop_seq = life.states[index + 1][0] if index + 1 < len(life.states) else None
        start = times.get(seq, float(seq))
        stop = times.get(stop_seq, float(stop_seq)) if stop_seq is not None else end
        spans.append((start, stop, state))
    who = " ".join(part for part in (life.number, f'"{life.caller_name}"'
                                     if life.caller_name else "") if part)
    return Lane(life.uniqueid, who or life.name, life.name, life.party,
                tuple(life.happenings), tuple(spans))


def build_timeline(history: CallHistory) -> Timeline:
    """The lanes of one call: its own, then its channels in order of creation."""
    log = history.log
    lives = log.group(history.call_id)
    marks = list(history.marks) + [m for life in lives for m in life.happenings]
    uses_time = bool(marks) and all(m.time is not None for m in marks)
    end = max((_key(m, uses_time) for m in marks), default=0.0) + (1.0 if not uses_time else 0.5)
    call_lane = Lane("call", f"call {history.name}", f"caller {history.caller}" if
                     history.caller else "", history.caller, tuple(history.marks), is_call=True)
    lanes = [call_lane] + [_channel_lane(life, uses_time, end) for life in lives]
    axis = ("time: seconds since the first mark (AMI Timestamp)" if uses_time else
            "time: number of the AMI event in the log (it has no Timestamp)")
    path = " → ".join(history.path) or "(no call events)"
    return Timeline(f"Call {history.name} — {log.name}", f"call machine path: {path}", axis,
                    tuple(lanes), uses_time)


def positions(keys: Iterable[float]) -> dict[float, float]:
    """x of each distinct key: proportional, at least MIN_GAP apart, order kept."""
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    span = (ordered[-1] - ordered[0]) or 1.0
    scale = SPAN_TARGET / span
    out: dict[float, float] = {}
    previous: float | None = None
    for key in ordered:
        x = LEFT + 30.0 + (key - ordered[0]) * scale
        if previous is not None:
            x = max(x, previous + MIN_GAP)
        out[key] = round(x, 1)
        previous = x
    return out


def _short(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1] + "…"


def _mark(mark: Happening, lane: Lane, x: float, y: float, key: float) -> str:
    colour = (CALL_COLOURS if lane.is_call else COLOURS).get(mark.kind, "#555555")
    shape = (f'<path d="M{x:.1f} {y - 7:.1f} L{x + 7:.1f} {y:.1f} L{x:.1f} {y + 7:.1f} '
             f'L{x - 7:.1f} {y:.1f} Z" fill="{colour}"/>' if lane.is_call else
             f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="{colour}" stroke="white"/>')
    attrs_ = (f'class="mark" data-kind={quoteattr(mark.kind)} data-lane={quoteattr(lane.key)} '
              f'data-party={quoteattr(lane.party)} data-seq="{mark.seq}" data-key="{key:g}" '
              f'data-x="{x:.1f}" data-label={quoteattr(mark.label)}')
    tip = f"#{mark.seq}" + (f" t={mark.time:.3f}" if mark.time is not None else "")
    return (f'<g {attrs_}><title>{escape(f"{tip}: {mark.detail or mark.label}")}</title>'
            f'{shape}<text x="{x + 4:.1f}" y="{y - 10:.1f}" class="ml" '
            f'transform="rotate(-35 {x + 4:.1f} {y - 10:.1f})">{escape(_short(mark.label))}'
            f'</text></g>')


def _lane(lane: Lane, index: int, xs: dict[float, float], width: float, uses_time: bool,
          guides: list[str]) -> list[str]:
    top = TOP + index * LANE_H
    y = top + LANE_H - 22.0
    out = [f'<g class="lane" data-lane={quoteattr(lane.key)} data-party={quoteattr(lane.party)}>',
           f'<rect x="0" y="{top:.1f}" width="{width:.1f}" height="{LANE_H:.1f}" '
           f'fill="{"#f4f6f7" if index % 2 else "#ffffff"}"/>',
           f'<text x="12" y="{y - 14:.1f}" class="lt">{escape(lane.title)}</text>',
           f'<text x="12" y="{y + 2:.1f}" class="ls">{escape(lane.subtitle)}</text>',
           f'<line x1="{LEFT:.1f}" y1="{y:.1f}" x2="{width - 20:.1f}" y2="{y:.1f}" '
           f'class="base"/>']
    for start, stop, state in lane.spans:
        x1, x2 = xs.get(start, LEFT), xs.get(stop, width - 40)
        height = 10.0 if state == "bridged" else 6.0
        out.append(f'<rect class="span" data-state="{state}" x="{x1:.1f}" '
                   f'y="{y - height / 2:.1f}" width="{max(x2 - x1, 1.0):.1f}" '
                   f'height="{height:.1f}" rx="2" fill="{STATE_COLOURS.get(state, "#ccc")}"/>')
    for mark in lane.marks:
        key = _key(mark, uses_time)
        out.append(_mark(mark, lane, xs[key], y, key))
        if lane.is_call:
            guides.append(f'<line x1="{xs[key]:.1f}" y1="{y:.1f}" x2="{xs[key]:.1f}" '
                          f'y2="{{bottom}}" class="guide"/>')
    out.append("</g>")
    return out


def _axis(xs: dict[float, float], y: float, uses_time: bool, caption: str) -> list[str]:
    out = [f'<g class="axis"><line x1="{LEFT:.1f}" y1="{y:.1f}" '
           f'x2="{max(xs.values(), default=LEFT) + 20:.1f}" y2="{y:.1f}" class="base"/>',
           f'<text x="{LEFT:.1f}" y="{y + 34:.1f}" class="ls">{escape(caption)}</text>']
    origin = min(xs, default=0.0)
    for key, x in sorted(xs.items()):
        text = f"+{key - origin:.2f}s" if uses_time else f"#{key:g}"
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + 5:.1f}" class="base"/>'
                   f'<text x="{x:.1f}" y="{y + 17:.1f}" class="tick">{escape(text)}</text>')
    out.append("</g>")
    return out


def _legend(y: float) -> list[str]:
    out = ['<g class="legend">']
    x = 12.0
    for state, colour in STATE_COLOURS.items():
        out.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="18" height="8" rx="2" '
                   f'fill="{colour}"/><text x="{x + 22:.1f}" y="{y:.1f}" class="ls">{state}</text>')
        x += 92.0
    out.append(f'<text x="{x:.1f}" y="{y:.1f}" class="ls">◆ call event  ● channel event  '
               f'(hover a mark for details)</text></g>')
    return out


_STYLE = """
text { font-family: Helvetica, Arial, sans-serif; fill: #222; }
.title { font-size: 17px; font-weight: bold; }
.sub { font-size: 12px; fill: #555; }
.lt { font-size: 13px; font-weight: bold; }
.ls { font-size: 11px; fill: #555; }
.ml { font-size: 10.5px; }
.tick { font-size: 9.5px; fill: #555; text-anchor: middle; }
.base { stroke: #999; stroke-width: 1; }
.guide { stroke: #d62728; stroke-width: 0.8; stroke-dasharray: 3 4; opacity: 0.45; }
.mark:hover text { font-weight: bold; }
"""


def render_svg(timeline: Timeline) -> str:
    """The timeline as the text of a standalone SVG file."""
    keys = [_key(m, timeline.uses_time) for lane in timeline.lanes for m in lane.marks]
    keys += [k for lane in timeline.lanes for span in lane.spans for k in span[:2]]
    xs = positions(keys)
    width = max(xs.values(), default=LEFT) + 190.0
    bottom = TOP + len(timeline.lanes) * LANE_H
    height = bottom + 80.0
    guides: list[str] = []
    body: list[str] = []
    for index, lane in enumerate(timeline.lanes):
        body.extend(_lane(lane, index, xs, width, timeline.uses_time, guides))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{math.ceil(width)}" '
        f'height="{math.ceil(height)}" viewBox="0 0 {math.ceil(width)} {math.ceil(height)}">',
        f"<title>{escape(timeline.title)}</title>",
        f"<style>{_STYLE}</style>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="12" y="26" class="title">{escape(timeline.title)}</text>',
        f'<text x="12" y="46" class="sub">{escape(timeline.subtitle)}</text>',
        *body,
        *(guide.replace("{bottom}", f"{bottom:.1f}") for guide in guides),
        *_axis(xs, bottom + 8.0, timeline.uses_time, timeline.axis),
        *_legend(bottom + 66.0),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


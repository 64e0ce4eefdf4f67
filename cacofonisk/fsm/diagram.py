"""Draw the state machines from the very tables the tracker runs.

``transitions.extensions.GraphMachine`` is built here, and only here, from a
``MachineDef``'s ``rules``, ``states`` and ``initial`` (``CHANNEL_MACHINE``,
``CALL_MACHINE``): a picture drawn from a copy of the table could drift from
the code, one drawn from the table cannot. Nothing on the runtime path
imports this module (GraphMachine costs milliseconds and kilobytes per
machine; the manager fires through ``fsm/engine.py``).

Formats, chosen by the output file's extension:

* ``.mmd`` Mermaid source, ``.md`` the same in a ```` ```mermaid ```` fence:
  transitions' mermaid engine, no system package;
* ``.dot`` / ``.gv`` Graphviz source: transitions' graphviz engine
  (``.source``), which needs the ``graphviz`` PyPI package
  (``pip install 'cacofonisk[diagrams]'``) but no system package;
* ``.svg`` / ``.png``: the same source rendered by Graphviz's ``dot``
  program (Debian package ``graphviz``; ``scripts/install-system-deps.sh``).

A *path* (the triggers one call went through, ``Call.path``) can be drawn on
top: it is replayed through the GraphMachine itself, so an impossible path
raises ``InvalidTransition`` instead of drawing a lie; visited states and
transitions are highlighted and each taken transition is labelled with its
step numbers.
"""
from __future__ import annotations

import copy
import importlib.util
import shutil
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import attrs
from transitions import MachineError
from transitions.extensions import GraphMachine

from ..errors import ConfigurationError, InvalidTransition
from .call import CALL_MACHINE
from .channel import CHANNEL_MACHINE
from .engine import MachineDef

#: the machines ``cacofonisk diagram`` knows, by name
MACHINES: dict[str, MachineDef[Any]] = {"channel": CHANNEL_MACHINE, "call": CALL_MACHINE}

Engine = Literal["graphviz", "mermaid"]

#: output format by file extension
FORMATS: dict[str, str] = {
    ".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot",
    ".mmd": "mermaid", ".mermaid": "mermaid", ".md": "markdown",
}

#: formats that need Graphviz's ``dot`` program
RENDERED = frozenset({"svg", "png"})

_INSTALL_DOT = ("Graphviz's 'dot' program is needed to render {what}; install Graphviz "
                "(Debian/Ubuntu: apt-get install graphviz, or run "
                "scripts/install-system-deps.sh){hint}")
_INSTALL_PY = ("the 'graphviz' Python package is needed for {fmt} output: "
               "pip install 'cacofonisk[diagrams]' (or write .mmd, which needs nothing)")


#: graph-wide Graphviz attributes (mermaid ignores what it does not know)
_GRAPH_ATTRS = {"nodesep": "0.45", "ranksep": "0.8", "fontname": "Helvetica", "pad": "0.2",
                "labelloc": "t", "fontsize": "16"}

#: additions to GraphMachine's styles: the path stands out, the rest recedes
_STYLES: dict[str, dict[str, dict[str, str]]] = {
    "node": {"default": {"fontname": "Helvetica"},
             "previous": {"color": "blue", "fillcolor": "lightblue1", "penwidth": "2"},
             "active": {"penwidth": "2"}},
    "edge": {"default": {"color": "gray45", "fontcolor": "gray25", "fontname": "Helvetica",
                         "fontsize": "11"},
             "previous": {"color": "blue", "fontcolor": "blue", "penwidth": "2.2"}},
}


@attrs.frozen(slots=True)
class PathStep:
    """One transition a model took: step ``number`` (from 1) fired ``trigger``."""

    number: int
    trigger: str
    source: Enum
    dest: Enum


def format_for(path: str | Path) -> str:
    """The output format a file name asks for.

    Raises:
        ConfigurationError: the extension is not one of ``FORMATS``.
    """
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        known = " ".join(sorted(FORMATS))
        raise ConfigurationError(
            f"cannot tell the diagram format of {str(path)!r}: use one of {known}") from None


def final_states(definition: MachineDef[Any]) -> list[Enum]:
    """States no rule leaves (drawn with a double border)."""
    sources = {state for rule in definition.rules for state in rule.sources}
    return [state for state in definition.states if state not in sources]


def _spec(definition: MachineDef[Any], labels: dict[tuple[Enum, str], str]) -> list[dict[str, Any]]:
    """The table as transitions' dicts: one per (source, trigger), so each
    taken transition can carry its own label; callbacks are left out (a
    drawing must not report call events)."""
    spec: list[dict[str, Any]] = []
    for rule in definition.rules:
        for source in rule.sources:
            item: dict[str, Any] = {"trigger": rule.trigger, "source": source, "dest": rule.dest}
            if (source, rule.trigger) in labels:
                item["label"] = labels[(source, rule.trigger)]
            spec.append(item)
    return spec


def build(definition: MachineDef[Any], *, engine: Engine = "mermaid", title: str | None = None,
          labels: dict[tuple[Enum, str], str] | None = None) -> GraphMachine:
    """A GraphMachine for ``definition``; the machine is its own model.

    Args:
        engine: 'mermaid' (no dependency) or 'graphviz' (the PyPI package).
        title: the graph's caption (default: the machine's name).
        labels: edge labels replacing the trigger name, by (source, trigger).

    Raises:
        ConfigurationError: 'graphviz' was asked for and the package is absent
            (transitions would silently fall back to mermaid).
    """
    if engine == "graphviz" and importlib.util.find_spec("graphviz") is None:
        raise ConfigurationError(_INSTALL_PY.format(fmt="DOT/SVG/PNG"))
    machine = GraphMachine(
        states=definition.states, transitions=_spec(definition, labels or {}),
        initial=definition.initial, auto_transitions=False, graph_engine=engine,
        title=title or f"{definition.name} machine", name=definition.name)
    if engine != "graphviz":
        return machine  # mermaid would copy Graphviz-only attributes into its text
    # per-instance copies: the class attributes are shared by every GraphMachine
    machine.machine_attributes = {**GraphMachine.machine_attributes, **_GRAPH_ATTRS}
    styles: dict[str, Any] = copy.deepcopy(GraphMachine.style_attributes)
    for kind, extra in _STYLES.items():
        for style, attrs_ in extra.items():
            styles[kind].setdefault(style, {}).update(attrs_)
    machine.style_attributes = styles
    return machine


def walk(definition: MachineDef[Any], path: Sequence[str]) -> list[PathStep]:
    """Replay ``path`` (trigger names) through the machine from its initial state.

    Raises:
        InvalidTransition: the table does not allow a trigger where it comes.
    """
    machine = build(definition)
    steps: list[PathStep] = []
    for number, trigger in enumerate(path, start=1):
        source = machine.state
        try:
            machine.trigger(trigger)
        except (MachineError, AttributeError) as err:
            raise InvalidTransition(f"{definition.name} path step {number}",
                                    getattr(source, "name", str(source)), trigger) from err
        steps.append(PathStep(number, trigger, source, machine.state))
    return steps


def allowed(definition: MachineDef[Any], state: Enum | str) -> list[str]:
    """Triggers the table allows in ``state`` (an Enum member or its name)."""
    name = state.name if isinstance(state, Enum) else state
    return [rule.trigger for rule in definition.rules
            if any(source.name == name for source in rule.sources)]


def _path_labels(steps: Sequence[PathStep]) -> dict[tuple[Enum, str], str]:
    numbers: dict[tuple[Enum, str], list[str]] = {}
    for step in steps:
        numbers.setdefault((step.source, step.trigger), []).append(str(step.number))
    return {key: f"{key[1]} ({','.join(nums)})" for key, nums in numbers.items()}


def graph(definition: MachineDef[Any], *, engine: Engine, path: Sequence[str] = (),
          title: str | None = None) -> Any:
    """The engine's graph object (``.source`` holds DOT or Mermaid text).

    Without a path no state is highlighted; with one, every visited state
    and taken edge is drawn in the 'previous' style and the state the path
    ends in in the 'active' style.
    """
    steps = walk(definition, path) if path else []
    machine = build(definition, engine=engine, title=title, labels=_path_labels(steps))
    if steps:
        machine.set_state(steps[-1].dest)
    machine.get_graph(force_new=True)
    styles = machine.model_graphs[id(machine)]
    styles.reset_styling()
    if steps:
        styles.set_node_style(definition.initial, "previous")
        for step in steps:
            styles.set_previous_transition(step.source.name, step.dest.name)
        styles.set_node_style(steps[-1].dest, "active")
    drawn = machine.get_graph()
    if engine == "graphviz":
        _decorate_dot(drawn, definition)
    return drawn


def _decorate_dot(drawn: Any, definition: MachineDef[Any]) -> None:
    """Mark the initial state with a start dot and final states with a double border."""
    drawn.node("__start__", label="", shape="circle", width="0.18", style="filled",
               fillcolor="black")
    drawn.edge("__start__", definition.initial.name)
    for state in final_states(definition):
        drawn.node(state.name, peripheries="2")
    # transitions joins the triggers of one edge with " | "; one per line reads better
    drawn.body[:] = [line.replace(" | ", "\\n") if " -> " in line else line
                     for line in drawn.body]


def source(definition: MachineDef[Any], fmt: str, *, path: Sequence[str] = (),
           title: str | None = None) -> str:
    """DOT ('dot'), Mermaid ('mermaid') or a Markdown page with Mermaid ('markdown')."""
    if fmt == "dot":
        return str(graph(definition, engine="graphviz", path=path, title=title).source)
    text = str(graph(definition, engine="mermaid", path=path, title=title).source)
    if fmt == "markdown":
        return f"```mermaid\n{text}\n```\n"
    if fmt == "mermaid":
        return text + "\n"
    raise ConfigurationError(f"{fmt!r} is not a text diagram format")


def require_dot(what: str = "SVG/PNG", hint: str = "") -> str:
    """The path of Graphviz's ``dot``, checked before any work is done.

    Raises:
        ConfigurationError: ``dot`` is not on PATH (says how to install it;
            ``hint`` may add what to do instead).
    """
    found = shutil.which("dot")
    if found is None:
        raise ConfigurationError(_INSTALL_DOT.format(what=what, hint=hint))
    return found


def render(definition: MachineDef[Any], fmt: str, *, path: Sequence[str] = (),
           title: str | None = None) -> bytes:
    """The diagram as the bytes of a file in format ``fmt`` (see ``FORMATS``).

    Raises:
        ConfigurationError: an unknown format, or a missing ``dot`` / package.
        InvalidTransition: ``path`` is not possible in this machine.
    """
    if fmt in RENDERED:
        require_dot(fmt.upper(), ", or write .dot or .mmd, which need no Graphviz")
        drawn = graph(definition, engine="graphviz", path=path, title=title)
        try:
            data: bytes = drawn.pipe(format=fmt)
        except Exception as err:  # graphviz.ExecutableNotFound / CalledProcessError
            raise ConfigurationError(f"dot failed to render {fmt}: {err}") from err
        return data
    return source(definition, fmt, path=path, title=title).encode()


def write(definition: MachineDef[Any], out: str | Path, *, fmt: str | None = None,
          path: Sequence[str] = (), title: str | None = None) -> Path:
    """Render into the file ``out`` (format from its extension unless ``fmt``)."""
    target = Path(out)
    data = render(definition, fmt or format_for(target), path=path, title=title)
    if target.parent != Path(""):
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target

"""State diagrams drawn from the machine tables (cacofonisk.fsm.diagram, `diagram` CLI).

Every format is checked by reading the output back: SVG with xml.etree,
PNG by its signature and IHDR chunk, DOT and Mermaid by their text. The
per-call path is checked against what the replay really reported and what
the tracker's own ``Call.path`` recorded.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cacofonisk import registry
from cacofonisk.cli import main
from cacofonisk.diagrams import TRIGGER_OF, CallCollector
from cacofonisk.errors import ConfigurationError, InvalidTransition
from cacofonisk.fsm import diagram
from cacofonisk.fsm.call import CALL_MACHINE, Call, CallState
from cacofonisk.fsm.channel import CHANNEL_MACHINE
from cacofonisk.reporters import MultiReporter
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.runners.file_runner import FileRunner

from conformance import SHARED, SKIP_REASON

SVG = "{http://www.w3.org/2000/svg}"
#: the project's own blind transfer (a simulation of lab/blind_transfer.json): these
#: tests check the drawing, not a third-party recording, so they need no ../shared
BLIND = Path(__file__).resolve().parent.parent / "scenarios" / "ami2" / "blind_transfer.json"
MACHINES = [pytest.param(CHANNEL_MACHINE, id="channel"), pytest.param(CALL_MACHINE, id="call")]

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz 'dot' is not installed (scripts/install-system-deps.sh installs it)")
needs_graphviz_pkg = pytest.mark.skipif(
    importlib.util.find_spec("graphviz") is None,
    reason="the 'graphviz' Python package is absent (pip install 'cacofonisk[diagrams]')")
needs_blind = pytest.mark.skipif(not BLIND.is_file(), reason=f"{BLIND} is missing")

#: what each API.md hook means for the call machine, written out here
#: independently of TRIGGER_OF so that the two check each other
HOOK_TRIGGERS = {
    "on_b_dial": "ring", "on_b_dial_end": "dial_end", "on_up": "answer",
    "on_warm_transfer": "transfer", "on_cold_transfer": "transfer",
    "on_blind_transfer": "transfer", "on_blonde_transfer": "transfer",
    "on_hangup": "end", "on_queue_caller_abandon": "abandon",
}


def _edges(definition: Any) -> set[tuple[str, str]]:
    """(source, dest) of every row of the table; an internal step loops."""
    return {(src.name, (rule.dest or src).name) for rule in definition.rules
            for src in rule.sources}


# -- text formats ---------------------------------------------------------------

@pytest.mark.parametrize("definition", MACHINES)
def test_mermaid_names_every_state_trigger_and_edge(definition: Any) -> None:
    text = diagram.source(definition, "mermaid")
    assert "stateDiagram-v2" in text
    for state in definition.states:
        assert f'state "{state.name}" as {state.name}' in text
    for trigger in definition.triggers:
        assert re.search(rf":.*\b{trigger}\b", text), trigger
    drawn = set(re.findall(r"^\s*(\w+) --> (\w+):", text, re.M))
    assert drawn == _edges(definition)
    assert f"[*] --> {definition.initial.name}" in text


def test_markdown_is_a_mermaid_fence() -> None:
    text = diagram.source(CALL_MACHINE, "markdown")
    assert text.startswith("```mermaid\n") and text.rstrip().endswith("```")
    assert "TRANSFERRED --> UP: answer" in text


@needs_graphviz_pkg
@pytest.mark.parametrize("definition", MACHINES)
def test_dot_names_every_state_trigger_and_edge(definition: Any) -> None:
    text = diagram.source(definition, "dot")
    assert text.lstrip().startswith("digraph")
    for state in definition.states:
        assert re.search(rf"^\s*{state.name} \[label=", text, re.M), state
    labels = " ".join(re.findall(r'label=("(?:[^"\\]|\\.)*"|\w+)', text)).replace("\\n", " ")
    for trigger in definition.triggers:
        assert re.search(rf"\b{trigger}\b", labels), trigger
    drawn = {edge for edge in re.findall(r"^\s*(\w+) -> (\w+) \[", text, re.M)
             if edge[0] != "__start__"}
    assert drawn == _edges(definition)
    assert f"__start__ -> {definition.initial.name}" in text
    for state in diagram.final_states(definition):
        assert f"{state.name} [peripheries=2]" in text


def test_final_states_come_from_the_table() -> None:
    assert set(diagram.final_states(CALL_MACHINE)) == {CallState.MERGED, CallState.ENDED}
    assert [s.name for s in diagram.final_states(CHANNEL_MACHINE)] == ["HUNG_UP"]


# -- rendered formats -----------------------------------------------------------

@needs_dot
@needs_graphviz_pkg
@pytest.mark.parametrize("definition", MACHINES)
def test_svg_parses_and_names_every_state(definition: Any, tmp_path: Path) -> None:
    out = diagram.write(definition, tmp_path / f"{definition.name}.svg")
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    texts = {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}
    for state in definition.states:
        assert state.name in texts, state
    labels = " ".join(texts)
    for trigger in definition.triggers:
        assert trigger in labels, trigger
    nodes = {t.text for g in root.iter(f"{SVG}g") if g.get("class") == "node"
             for t in g.iter(f"{SVG}title")}
    assert {s.name for s in definition.states} <= nodes


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_dot
@needs_graphviz_pkg
@pytest.mark.parametrize("definition", MACHINES)
def test_png_has_a_valid_header_and_real_size(definition: Any, tmp_path: Path) -> None:
    out = diagram.write(definition, tmp_path / "machine.png")
    data = out.read_bytes()
    width, height = _png_size(data)
    assert width > 400 and height > 150
    assert len(data) > 10_000
    assert data.rstrip().endswith(b"IEND\xaeB`\x82")


def test_format_follows_the_extension() -> None:
    assert [diagram.format_for(f"x{ext}") for ext in (".svg", ".PNG", ".dot", ".gv", ".mmd",
                                                       ".md")] == \
        ["svg", "png", "dot", "dot", "mermaid", "markdown"]
    with pytest.raises(ConfigurationError, match=r"\.svg"):
        diagram.format_for("x.pdf")


def test_missing_dot_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    with pytest.raises(ConfigurationError, match="install Graphviz"):
        diagram.render(CALL_MACHINE, "svg")
    assert main(["diagram", "call", "-o", str(tmp_path / "x.png")]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    # text formats do not need dot
    assert main(["diagram", "call", "-o", str(tmp_path / "x.mmd")]) == 0


def test_missing_graphviz_package_is_a_clear_configuration_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(diagram.importlib.util, "find_spec",
                        lambda name, *a: None if name == "graphviz" else real(name, *a))
    with pytest.raises(ConfigurationError, match=r"cacofonisk\[diagrams\]"):
        diagram.source(CALL_MACHINE, "dot")
    assert "stateDiagram-v2" in diagram.source(CALL_MACHINE, "mermaid")


# -- paths --------------------------------------------------------------------

def test_walk_follows_the_table() -> None:
    steps = diagram.walk(CALL_MACHINE, ["ring", "dial_end", "answer", "end"])
    assert [(s.number, s.trigger, s.source.name, s.dest.name) for s in steps] == [
        (1, "ring", "NEW", "RINGING"), (2, "dial_end", "RINGING", "RINGING"),
        (3, "answer", "RINGING", "UP"), (4, "end", "UP", "ENDED")]
    with pytest.raises(InvalidTransition):
        diagram.walk(CALL_MACHINE, ["ring", "end", "answer"])
    with pytest.raises(InvalidTransition):
        diagram.walk(CHANNEL_MACHINE, ["no_such_trigger"])


def test_cli_rejects_an_impossible_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "call", "--path", "ring,end,answer"]) == 2
    err = capsys.readouterr().err
    assert "'answer' is not allowed in state ENDED" in err


@needs_graphviz_pkg
def test_dot_highlights_exactly_the_path() -> None:
    path = ["ring", "answer", "end"]
    text = diagram.source(CALL_MACHINE, "dot", path=path)
    blue = set(re.findall(r"^\s*(\w+) -> (\w+) \[[^\n]*color=blue", text, re.M))
    assert blue == {("NEW", "RINGING"), ("RINGING", "UP"), ("UP", "ENDED")}
    assert 'label="ring (1)"' in text and 'label="answer (2)"' in text
    assert re.search(r"^\s*ENDED \[[^\n]*fillcolor=darksalmon", text, re.M)
    plain = diagram.source(CALL_MACHINE, "dot")
    assert "color=blue" not in plain and "darksalmon" not in plain


class HookRecorder(BaseReporter):
    """The hooks a replay reports, as (hook, call_id, merged_id)."""

    def __init__(self) -> None:
        self.hooks: list[tuple[str, str, str]] = []

    def on_call_event(self, record: Any) -> None:
        from cacofonisk.calls import hook_of
        self.hooks.append((hook_of(record), record.call_id, getattr(record, "merged_id", "")))


def _replay_collecting(log: Path, monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[CallCollector, HookRecorder, list[Any]]:
    """Replay ``log``; return the collector, the hooks and the tracker's own Call objects."""
    created: list[Any] = []

    # The seam is the registry's ``new_call`` (a module global compiled code
    # looks up too), not Call.__init__ (a compiled Call's cannot be patched)
    # nor a registry method (compiled code calls those directly, and a
    # patched one would silently never run).
    def spy(call_id: str) -> Call:
        call = Call(call_id)
        created.append(call)
        return call

    monkeypatch.setattr(registry, "new_call", spy)
    collector, hooks = CallCollector(), HookRecorder()
    collector.start_log(log.name)
    FileRunner([str(log)], MultiReporter([hooks, collector])).run()
    return collector, hooks, created


@needs_blind
def test_blind_transfer_path_is_what_the_call_did(monkeypatch: pytest.MonkeyPatch) -> None:
    collector, hooks, created = _replay_collecting(BLIND, monkeypatch)
    (call,) = collector.calls
    # the hooks the replay reported, read as call-machine triggers
    reported = [HOOK_TRIGGERS[hook] for hook, call_id, _ in hooks.hooks
                if call_id == call.call_id and hook in HOOK_TRIGGERS]
    assert call.path == reported
    assert call.path == ["ring", "dial_end", "answer", "transfer", "dial_end", "answer", "end"]
    # ... and what the tracker's own call machine recorded
    assert [(c.call_id, c.path) for c in created if c.path] == [(call.call_id, call.path)]
    states = [step.dest.name for step in diagram.walk(CALL_MACHINE, call.path)]
    assert states == ["RINGING", "RINGING", "UP", "TRANSFERRED", "TRANSFERRED", "UP", "ENDED"]


def test_trigger_map_covers_every_emitting_rule() -> None:
    emitting = {rule.trigger for rule in CALL_MACHINE.rules if rule.trigger != "merge"}
    assert set(TRIGGER_OF.values()) == emitting


RECORDINGS = sorted(p for folder in ("lab", "conformance/ami1", "conformance/ami2")
                    for p in (SHARED / folder).glob("*.json")
                    if not p.name.endswith(".expected.json")) if SHARED.is_dir() else []


@pytest.mark.skipif(not RECORDINGS, reason=SKIP_REASON)
def test_collected_paths_equal_call_path_on_every_recording(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reporter-side reconstruction (records + merges + frees) is exact."""
    wrong = []
    for log in RECORDINGS:
        collector, _hooks, created = _replay_collecting(log, monkeypatch)
        real = [(c.call_id, list(c.path)) for c in created if c.path]
        mine = [(h.call_id, h.path) for h in collector.calls]
        if real != mine:
            wrong.append(f"{log.name}: tracker {real} != collected {mine}")
        for history in collector.calls:
            diagram.walk(CALL_MACHINE, history.path)  # every path is possible
    assert not wrong, "\n".join(wrong)


# -- the CLI ------------------------------------------------------------------

@needs_dot
@needs_graphviz_pkg
def test_cli_writes_each_format(tmp_path: Path) -> None:
    for name in ("call.svg", "call.png", "call.dot", "call.mmd", "call.md"):
        assert main(["diagram", "call", "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).stat().st_size > 500, name
    assert main(["diagram", "channel", "--format", "dot", "-o", str(tmp_path / "c.txt")]) == 0
    assert (tmp_path / "c.txt").read_text().lstrip().startswith("digraph")


def test_cli_prints_mermaid_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "channel"]) == 0
    out = capsys.readouterr().out
    assert "stateDiagram-v2" in out and "BRIDGED --> UP: unbridge" in out


@needs_dot
@needs_graphviz_pkg
@needs_blind
def test_replay_diagram_highlights_the_path_in_svg(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(BLIND), "--diagram", str(tmp_path)]) == 0
    assert "blind_transfer" in capsys.readouterr().out  # the normal output still comes
    (machine,) = tmp_path.glob("blind_transfer.*.call.svg")
    root = ET.parse(machine).getroot()
    blue = set()
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "edge":
            continue
        path = g.find(f"{SVG}path")
        if path is not None and path.get("stroke") == "blue":
            title = g.findtext(f"{SVG}title") or ""
            blue.add(tuple(title.replace("&#45;", "-").split("->")))
    assert blue == {("NEW", "RINGING"), ("RINGING", "RINGING"), ("RINGING", "UP"),
                    ("UP", "TRANSFERRED"), ("TRANSFERRED", "TRANSFERRED"),
                    ("TRANSFERRED", "UP"), ("UP", "ENDED")}
    labels = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    for step in ("ring (1)", "dial_end (2)", "answer (3)", "transfer (4)", "dial_end (5)",
                 "answer (6)", "end (7)"):
        assert step in labels
    assert (tmp_path / "index.html").is_file()

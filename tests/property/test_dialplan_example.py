"""The example of docs/property-testing.md runs, and the page shows it verbatim.

``examples/test_my_dialplan.py`` is what a user copies; its tests are run
here with the suite's hypothesis profile, and the docs page must quote the
file exactly (between the ``<!-- example: ... -->`` marker and the end of
its code block).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "test_my_dialplan.py"
DOC = ROOT / "docs" / "property-testing.md"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("my_dialplan_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_page_quotes_the_example_verbatim() -> None:
    text = DOC.read_text(encoding="utf-8")
    marker = "<!-- example: examples/test_my_dialplan.py -->\n```python\n"
    assert marker in text
    quoted = text.split(marker, 1)[1].split("\n```\n", 1)[0] + "\n"
    assert quoted == EXAMPLE.read_text(encoding="utf-8")


def test_the_example_dialplan_test_passes() -> None:
    module = _example()
    module.test_every_call_through_my_dialplan_is_reported_as_expected()
    module.test_my_call_log_writes_one_row_per_finished_call()


def test_members_not_declared_as_phones_are_plain_phones() -> None:
    from cacofonisk.testing.strategies import Dialplan, Phone, Queue, RingGroup

    plan = Dialplan(routes={"401": RingGroup(["202", "203"]), "501": Queue(["204", "205"]),
                            "202": Phone("202", "Bob")})
    assert sorted(plan.phones) == ["202", "203", "204", "205"]
    assert plan.party("202").name == "Bob" and plan.party("205").tech == "PJSIP"

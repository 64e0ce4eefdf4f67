"""The generated parsers: up to date with events.py, and records as frozen as ever.

events.py's ``ami(...)`` field tables are the one source of truth; the
parsers are written from them into cacofonisk/parsers_generated.py (checked
in, so that the mypyc build compiles them). These tests catch a file that
was not regenerated, and check that the way the parsers fill a record (a
mutable twin whose ``__class__`` is then set, see events._builder) leaves
an ordinary frozen record of the right class.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import attrs
import pytest

from cacofonisk import events as ami
from cacofonisk import parsergen
from cacofonisk.errors import GeneratedCodeOutOfDate


def test_the_checked_in_parsers_are_what_the_generator_writes_from_events_py() -> None:
    written = parsergen.TARGET.read_text(encoding="utf-8")
    assert written == parsergen.generate(), \
        f"cacofonisk/parsers_generated.py is out of date: run {parsergen.COMMAND}"


def test_every_record_class_has_its_generated_parser_installed() -> None:
    from cacofonisk import parsers_generated

    for name, cls in ami.RECORD_TYPES.items():
        fast, careful, digest = parsers_generated.PARSERS[name]
        assert cls.__dict__["from_ami"].__func__ is fast, name
        assert ami.CAREFUL_PARSERS[name] is careful, name
        assert digest == ami.field_table_digest(cls), name


def test_check_mode_says_which_command_to_run_when_the_file_is_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "parsers_generated.py"
    stale.write_text(parsergen.generate().replace("def careful_Newstate", "def careful_Old"))
    monkeypatch.setattr(parsergen, "TARGET", stale)
    assert parsergen.main(["--check"]) == 1
    assert parsergen.COMMAND in capsys.readouterr().err
    assert parsergen.main([]) == 0  # rewrites it
    assert stale.read_text() == parsergen.generate()
    assert parsergen.main(["--check"]) == 0


@attrs.frozen(slots=True, kw_only=True)
class _Changed(ami.AmiEvent):
    """Newstate as if someone added a field to events.py and did not regenerate."""

    EVENT = "Newstate"
    uniqueid: str = ami.ami("Uniqueid", "UniqueID")
    channel: str = ami.ami("Channel")
    state: int = ami.ami("ChannelState", conv=int)
    caller_id_num: str = ami.ami("CallerIDNum", default="")
    linkedid: str = ami.ami("Linkedid", default="")


def test_a_record_whose_fields_changed_gets_a_parser_that_says_to_regenerate() -> None:
    from cacofonisk import parsers_generated

    careful = ami.install_parsers({"Newstate": _Changed}, parsers_generated.PARSERS)
    raw = {"Event": "Newstate", "Uniqueid": "1.1", "Channel": "SIP/a-1", "ChannelState": "4"}
    for parse in (_Changed.from_ami, lambda r: careful["Newstate"](_Changed, r)):
        with pytest.raises(GeneratedCodeOutOfDate, match="python -m cacofonisk.parsergen"):
            parse(raw)
    # the real class is untouched and its digest differs from the changed one's
    assert ami.field_table_digest(_Changed) != ami.field_table_digest(ami.Newstate)
    assert ami.Newstate.from_ami(raw).state == 4


def _full_event(cls: type[ami.AmiEvent]) -> dict[str, Any]:
    """An event of ``cls`` with every header it reads, each a valid value."""
    raw: dict[str, Any] = {"Event": cls.EVENT, "Timestamp": "1700000000.25"}
    for name, keys, conv, _required in cls._SPEC:
        raw[keys[0]] = "7" if conv is not str else f"{name}-value"
    return raw


@pytest.mark.parametrize("cls", sorted(ami.RECORD_TYPES.values(), key=lambda c: c.EVENT),
                         ids=lambda c: c.EVENT)
def test_a_parsed_record_is_a_frozen_instance_of_its_class_equal_to_the_constructed_one(
        cls: type[ami.AmiEvent]) -> None:
    raw = _full_event(cls)
    for parse in (cls.from_ami, lambda r: ami.CAREFUL_PARSERS[cls.EVENT](cls, r)):
        record = parse(raw)
        assert type(record) is cls
        values = attrs.asdict(record, recurse=False)
        assert values["raw"] is raw and values["timestamp"] == 1700000000.25
        assert record == cls(**values) and hash(record) == hash(cls(**values))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            record.timestamp = 1.0  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            del record.raw  # type: ignore[misc]
        assert not hasattr(record, "__dict__")  # still slotted
        assert pickle.loads(pickle.dumps(record)) == record

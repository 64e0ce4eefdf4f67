"""Delivery pieces without a server: subjects and partitions, the spool,
Standard Webhooks signatures (checked by the ``standardwebhooks`` package,
as a receiver checks them), option parsing."""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from cacofonisk.cli import main
from cacofonisk.errors import ConfigurationError

pytest.importorskip("aiohttp", reason="aiohttp is not installed: pip install -e .[testing]")

from cacofonisk.commands.nats_source import since_time  # noqa: E402
from cacofonisk.commands.publish_options import duration  # noqa: E402
from cacofonisk.delivery.spool import Spool  # noqa: E402
from cacofonisk.delivery.subjects import (Message, SubjectScheme, parse_nats_url,  # noqa: E402
                                          partition_of, token)
from cacofonisk.delivery.webhook import headers_for, load_secret, parse_secret  # noqa: E402
from cacofonisk.testing.webhook_receiver import new_secret  # noqa: E402


def message(n: int, key: str = "k") -> Message:
    return Message(f"s.{n}", f"id-{n}", json.dumps({"n": n}).encode(), {"h": "v"}, key)


def drain(spool: Spool) -> list[str]:
    out = []
    while (m := spool.peek()) is not None:
        spool.take(m)
        out.append(m.msg_id or "")
    return out


@given(st.text(max_size=30))
def test_a_token_never_holds_what_nats_subjects_forbid(text: str) -> None:
    made = token(text)
    assert made and not set(made) & set(". *>\t\r\n")


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=30),
       st.integers(1, 64))
def test_a_call_has_one_partition_in_range_whatever_its_ids(server: str, call_id: str,
                                                             partitions: int) -> None:
    part = partition_of(server, call_id, partitions)
    assert 0 <= part < partitions and part == partition_of(server, call_id, partitions)


def test_record_subject_names_server_kind_and_partition_and_filters_match_it() -> None:
    from cacofonisk.callerid import CallerId
    from cacofonisk.calls import Up
    record = Up(call_id="pbx.1", server="pbx 1", event_id="pbx.1:on_up:5.000000",
                caller=CallerId(name="A"), to_number="202", callee=CallerId(name="B"))
    scheme = SubjectScheme(partitions=8)
    msg = scheme.record_message(record)
    prefix, calls, server, kind, part = msg.subject.split(".")
    assert (prefix, calls, server, kind) == ("cacofonisk", "calls", "pbx_1", "on_up")
    assert int(part) == partition_of("pbx 1", "pbx.1", 8)
    assert msg.headers["Nats-Msg-Id"] == "pbx 1/pbx.1:on_up:5.000000"
    assert json.loads(msg.payload) == json.loads(json.dumps(record.as_dict(), default=str))


@pytest.mark.parametrize("url, servers", [
    ("nats://10.0.0.1", ["nats://10.0.0.1:4222"]),
    ("nats://a:1,b:2", ["nats://a:1", "nats://b:2"]),
    ("nats://a:1,nats://b:2", ["nats://a:1", "nats://b:2"]),
    ("nats://u:p@a:1", ["nats://u:p@a:1"]),
])
def test_nats_urls_give_one_server_url_each(url: str, servers: list[str]) -> None:
    assert parse_nats_url(url) == servers


@pytest.mark.parametrize("url", ["http://a:1", "nats://", "nats://a:x", "nats://a:1,,b",
                                 "nats://a/path"])
def test_bad_nats_urls_are_refused_with_the_url_named(url: str) -> None:
    with pytest.raises(ConfigurationError, match="NATS URL"):
        parse_nats_url(url)


def test_spool_keeps_order_across_memory_and_spill_file(tmp_path: Path) -> None:
    spool = Spool(3, tmp_path / "spill")
    for n in range(5):
        assert spool.put(message(n))
    first = spool.peek()
    assert first is not None
    spool.take(first)
    spool.put(message(5))  # the file is not empty: it goes after 3 and 4
    assert drain(spool) == [f"id-{n}" for n in range(1, 6)]
    assert (tmp_path / "spill").read_text() == ""  # read back whole: emptied


def test_what_waits_at_shutdown_is_in_the_spill_file_for_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "spill"
    spool = Spool(2, path)
    for n in range(4):
        spool.put(message(n))
    taken = spool.peek()
    assert taken is not None
    spool.take(taken)  # in flight, never acked
    assert spool.spill_all([taken]) == 0
    spool.close()
    again = Spool(2, path)
    assert drain(again) == ["id-0", "id-1", "id-2", "id-3"]


def test_without_a_spill_file_overflow_is_counted() -> None:
    spool = Spool(2)
    kept = [spool.put(message(n)) for n in range(5)]
    assert kept == [True, True, False, False, False] and spool.overflowed == 3
    assert spool.spill_all([]) == 2


def test_signed_requests_verify_with_the_standardwebhooks_package() -> None:
    from standardwebhooks.webhooks import Webhook
    secret = new_secret()
    body = b'{"event": "on_up", "event_id": "x:on_up:1.000000"}'
    headers = headers_for("x:on_up:1.000000", body, parse_secret(secret, "test"))
    assert headers["webhook-id"] == "x:on_up:1.000000"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    tampered = body.replace(b"on_up", b"on_hangup")
    with pytest.raises(Exception):  # noqa: B017 - the package's own verification error
        Webhook(secret).verify(tampered, headers)


def test_the_secret_comes_from_a_file_or_the_environment_never_raw_text(tmp_path: Path) -> None:
    secret = new_secret()
    path = tmp_path / "secret"
    path.write_text(secret + "\n")
    assert load_secret(str(path), {}) == parse_secret(secret, "x")
    assert load_secret(None, {"CACOFONISK_WEBHOOK_SECRET": secret}) == parse_secret(secret, "x")
    assert load_secret(None, {}) is None
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_secret(str(tmp_path / "missing"), {})


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("15m", 900),
                                           ("12h", 43200), ("7d", 604800), ("0.5", 0.5)])
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


def test_since_takes_an_iso_time_or_a_duration_ago() -> None:
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.timezone.utc)
    assert since_time("2h", now) == dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone.utc)
    assert since_time("2026-12-01T08:00:00", now) == dt.datetime(
        2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
    with pytest.raises(argparse.ArgumentTypeError):
        duration("yesterday")


def test_the_cli_imports_neither_nats_nor_aiohttp_until_a_delivery_option_is_used() -> None:
    # the base install stays light: these live in the nats and webhook extras
    import subprocess
    import sys
    code = ("import sys; from cacofonisk.cli import build_parser; "
            "build_parser().parse_args(['replay', 'x.json']); import cacofonisk; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'nats', 'aiohttp', 'standardwebhooks'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "[]"


# -- the published JSON schema (docs/call-event.schema.json) -------------------------------

_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
          "null": type(None), "array": list, "object": dict}


def _check(value: object, schema: dict, defs: dict, where: str) -> list[str]:
    """The subset of JSON Schema the document uses: $ref, type, required,
    properties, items, pattern. Returns what does not match."""
    import re
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        ok = any(isinstance(value, _TYPES[k]) and not (k in ("integer", "number") and
                                                       isinstance(value, bool))
                 for k in kinds)
        if not ok:
            return [f"{where}: {value!r} is not {kinds}"]
    problems = []
    if isinstance(value, dict):
        problems += [f"{where}: no {k}" for k in schema.get("required", []) if k not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += _check(value[key], sub, defs, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            problems += _check(item, schema["items"], defs, f"{where}[{n}]")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"],
                                                                         value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    return problems


def test_every_record_of_a_many_call_stream_matches_the_published_json_schema() -> None:
    from cacofonisk import ChannelManager
    from cacofonisk.delivery.subjects import SCHEMA, record_json
    from cacofonisk.reporters.base import BaseReporter
    from cacofonisk.testing.call_streams import many_calls
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" /
                         "call-event.schema.json").read_text())
    assert schema["$id"] == SCHEMA

    class Check(BaseReporter):
        problems: list[str] = []
        seen: set[str] = set()

        def on_call_event(self, record) -> None:  # type: ignore[no-untyped-def]
            if record.event_id:
                body = json.loads(record_json(record))
                self.seen.add(body["event"])
                self.problems += _check(body, schema, schema["$defs"], body["event"])

    manager = ChannelManager(reporter=Check(), server="pbx")
    for event in many_calls(40):
        manager.on_event(event)
    manager.flush()
    assert Check.problems == []
    assert {"on_b_dial", "on_up", "on_hangup", "on_warm_transfer"} <= Check.seen


# -- command-line errors (no server needed) ------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["deliver", "--from", "http://127.0.0.1:4222", "--webhook", "http://h/x"], "nats://"),
    (["deliver", "--from", "nats://127.0.0.1:70000", "--webhook", "http://h/x"], "bad port"),
    (["deliver", "--from", "nats://127.0.0.1:4222", "--webhook", "ftp://h/x"], "http(s)"),
    (["listen", "--host", "tcp://u@127.0.0.1:5038", "--publish", "nats//oops"], "nats://"),
    (["replay", "nats://127.0.0.1:4222", "--since", "yesterday"], "--since"),
    (["listen", "--host", "tcp://u@127.0.0.1:5038", "--publish-raw"], "--publish"),
    (["deliver", "--from", "nats://127.0.0.1:4222", "--webhook", "http://h/x",
      "--timeout", "30s", "--ack-wait", "10s"], "--ack-wait"),
])
def test_bad_nats_or_webhook_urls_give_one_line_and_exit_2(
        args: list[str], words: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACOFONISK_AMI_PASSWORD", "x")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err


def test_a_webhook_secret_that_is_not_base64_exits_2_without_echoing_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("not base64 at all!\n")
    assert main(["deliver", "--from", "nats://127.0.0.1:1", "--webhook", "http://h/x",
                 "--webhook-secret-file", str(secret_file)]) == 2
    err = capsys.readouterr().err
    assert "not base64" in err and "at all!" not in err


def test_lease_bound_messages_never_go_to_the_spill_file(tmp_path: Path) -> None:
    """A message with a deadline (a cluster worker's lease) read back from the
    file by a later run would be sent after its lease: it is counted instead."""
    import attrs

    path = tmp_path / "spill"
    spool = Spool(2, path)
    bound = [attrs.evolve(message(n), deadline=lambda: float("inf")) for n in range(4)]
    assert [spool.put(m) for m in bound] == [True, True, False, False]
    assert spool.overflowed == 2 and spool.spilled == 0
    assert spool.spill_all([]) == 0 and spool.unspillable == 2
    spool.close()
    assert path.read_text() == ""

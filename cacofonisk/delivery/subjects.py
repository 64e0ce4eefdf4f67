"""Where records go on NATS and what their messages hold (pure, no nats import).

Why a module of its own: the publisher, the deliver command, the replay
source and the cluster mode must agree on one subject scheme, one
partitioning and one payload schema, and tests check them without a server.

Subjects (``PREFIX`` is ``cacofonisk`` unless configured)::

    PREFIX.calls.<server>.<hook>.<partition>    one call-event record
    PREFIX.ami.<server>.<Event>                 one raw AMI event (--publish-raw)
    PREFIX.dead.calls.<server>.<hook>.<partition>   a record deliver gave up on

``<server>`` is the server's name and ``<hook>`` the record's hook
(``on_up``...), each with every character other than letters, digits, ``-``
and ``_`` replaced by ``_`` (NATS tokens may not hold ``.``, ``*``, ``>`` or
spaces). ``<partition>`` is ``crc32(server + "/" + call_id) % partitions``:
every record of one call lands in one partition, and a deliver consumer
takes one partition strictly in order (see deliver.py).

Payload: the record's JSON exactly as ``cacofonisk replay --format jsonl``
prints it (``record.as_dict()``, keys sorted). Headers: ``Nats-Msg-Id`` (the
record's ``event_id``, prefixed with the server: JetStream's de-duplication
key), ``Cacofonisk-Schema`` (``SCHEMA``), ``Cacofonisk-Server``,
``Cacofonisk-Call-Id``.
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..calls import CallEvent, hook_of
from ..errors import ConfigurationError

#: payload schema name and version; bumped when a field changes meaning or goes away
SCHEMA = "cacofonisk.call-event/1"
#: schema of raw AMI event messages: the event's headers as one JSON object
RAW_SCHEMA = "cacofonisk.ami-event/1"
#: the JetStream stream of records and raw events, unless told otherwise
DEFAULT_STREAM = "CACOFONISK"
DEFAULT_PREFIX = "cacofonisk"
DEFAULT_PARTITIONS = 16
DEFAULT_NATS_PORT = 4222

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def token(text: str) -> str:
    """One NATS subject token made from free text (never empty)."""
    return _UNSAFE.sub("_", text) or "_"


def partition_of(server: str, call_id: str, partitions: int) -> int:
    """The partition of a call: stable across processes and Python versions."""
    return zlib.crc32(f"{server}/{call_id}".encode()) % partitions


@attrs.frozen
class Message:
    """One message to publish: subject, de-duplication id, payload, headers.

    ``key`` orders messages: two with the same key are never in flight at
    once, so they are stored in the order they were submitted (one call's
    records keep their order).

    ``deadline`` (cluster mode) gives the time (``time.monotonic``) after
    which the message must not be sent any more: the lease of the worker
    that made it may have lapsed, and a successor may already publish for
    the same server, so a late copy would land out of order. It is read at
    each attempt (a renewed lease moves it on), and never written to the
    spill file (a restart cannot hold a lease).

    ``on_stored`` (cluster mode) is called, in the publisher's thread, once
    JetStream has acknowledged the message (or said it holds it already):
    a follower keeps an ended call in its checkpoint until then, so a
    successor can still report the hangup if this worker dies first.
    """

    subject: str
    msg_id: str | None
    payload: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)
    key: str = ""
    deadline: Callable[[], float] | None = attrs.field(default=None, eq=False, repr=False)
    on_stored: Callable[[], None] | None = attrs.field(default=None, eq=False, repr=False)

    def expired(self, now: float) -> bool:
        """True when ``deadline`` says this message may no longer be sent."""
        return self.deadline is not None and now >= self.deadline()

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the spill file's line)."""
        return {"subject": self.subject, "id": self.msg_id, "key": self.key,
                "headers": dict(self.headers), "data": self.payload.decode()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        """Back from ``as_json`` (a spill file's line)."""
        return cls(subject=str(data["subject"]), msg_id=data.get("id"),
                   payload=str(data["data"]).encode(), headers=dict(data.get("headers") or {}),
                   key=str(data.get("key", "")))


def record_json(record: CallEvent) -> bytes:
    """The record as ``replay --format jsonl`` prints it (without the newline)."""
    return json.dumps(record.as_dict(), sort_keys=True, default=str).encode()


@attrs.frozen
class SubjectScheme:
    """The subject prefix and partition count shared by publisher and consumers."""

    prefix: str = DEFAULT_PREFIX
    partitions: int = DEFAULT_PARTITIONS

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.partitions <= 4096:
            raise ConfigurationError(
                f"partitions must be between 1 and 4096, not {self.partitions}")
        if not self.prefix or any(not t or _UNSAFE.search(t) for t in self.prefix.split(".")):
            raise ConfigurationError(
                f"subject prefix {self.prefix!r} must be dot-separated tokens of letters, "
                "digits, '-' and '_'")

    @property
    def calls_filter(self) -> str:
        """Every call-event subject."""
        return f"{self.prefix}.calls.>"

    def partition_filter(self, partition: int) -> str:
        """The subjects of one partition (a deliver consumer's filter)."""
        return f"{self.prefix}.calls.*.*.{partition}"

    def raw_filter(self, server: str | None = None) -> str:
        """Raw AMI events of one server (or of all)."""
        return f"{self.prefix}.ami.{token(server)}.>" if server else f"{self.prefix}.ami.>"

    def dead_subject(self, subject: str) -> str:
        """Where a record goes when deliver gives up on it."""
        return f"{self.prefix}.dead.{subject.removeprefix(self.prefix + '.')}"

    def record_message(self, record: CallEvent) -> Message:
        """The message for one call-event record."""
        server = record.server
        part = partition_of(server, record.call_id, self.partitions)
        subject = f"{self.prefix}.calls.{token(server)}.{token(hook_of(record))}.{part}"
        msg_id = f"{server}/{record.event_id}" if record.event_id else None
        headers = {"Cacofonisk-Schema": SCHEMA, "Cacofonisk-Server": server,
                   "Cacofonisk-Call-Id": record.call_id}
        if msg_id:
            headers["Nats-Msg-Id"] = msg_id
        return Message(subject, msg_id, record_json(record), headers, key=f"{server}/{record.call_id}")

    def raw_message(self, server: str, event: Mapping[str, Any]) -> Message:
        """The message for one raw AMI event.

        Its id hashes the event's headers and is set only when the event has
        a Timestamp (without one, two identical events are both real).
        """
        plain = {str(k): (v if isinstance(v, str) else list(v) if isinstance(v, (list, tuple))
                          else str(v)) for k, v in event.items()}
        payload = json.dumps(plain, sort_keys=True).encode()
        msg_id = None
        if "Timestamp" in plain or "timestamp" in plain:
            msg_id = f"{server}/ami/{hashlib.sha1(payload).hexdigest()}"  # noqa: S324 - an id
        name = plain.get("Event") or plain.get("event") or "unknown"
        headers = {"Cacofonisk-Schema": RAW_SCHEMA, "Cacofonisk-Server": server}
        if msg_id:
            headers["Nats-Msg-Id"] = msg_id
        return Message(f"{self.prefix}.ami.{token(server)}.{token(str(name))}", msg_id,
                       payload, headers, key=f"{server}/ami")


def parse_nats_url(url: str) -> list[str]:
    """``nats://HOST:PORT[,HOST:PORT...]`` (or several ``nats://`` joined by commas)
    -> the server URLs nats-py takes.

    Raises:
        ConfigurationError: not a nats:// URL, a missing host or a bad port.
    """
    text = url.strip()
    if not text.startswith(("nats://", "tls://")):
        raise ConfigurationError(
            f"NATS URL {url!r} must start with nats:// or tls:// "
            "(e.g. nats://127.0.0.1:4222,10.0.0.2:4222)")
    scheme = text.split("://", 1)[0]
    servers = []
    for part in text.split("://", 1)[1].split(","):
        part = part.strip().removeprefix(f"{scheme}://")
        if not part:
            raise ConfigurationError(f"NATS URL {url!r} has an empty server between commas")
        parts = urlsplit(f"{scheme}://{part}")
        try:
            port = parts.port or DEFAULT_NATS_PORT
        except ValueError:
            raise ConfigurationError(f"NATS URL {url!r}: bad port in {part!r}") from None
        if not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ConfigurationError(f"NATS URL {url!r}: {part!r} is not HOST[:PORT]")
        auth = f"{parts.netloc.rsplit('@', 1)[0]}@" if "@" in parts.netloc else ""
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        servers.append(f"{scheme}://{auth}{host}:{port}")
    return servers

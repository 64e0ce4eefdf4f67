"""Leases, heartbeats and checkpoints in JetStream key-value buckets.

Why JetStream KV and not a coordinator of our own: NATS already replicates
the bucket (``replicas``) and gives the two primitives a lease needs:

* **create-if-absent** (``kv.create``: publish with expected last subject
  sequence 0) to claim a server, and
* **compare-and-set** on the revision (``kv.update(last=revision)``) to renew
  it; a renew that finds another revision means someone else owns it now.

Time-to-live: nats-server 2.9 (Debian's 2.9.10) has no per-key TTL, so the
lease bucket's ``max_age`` is the lease TTL: a key not rewritten for that
long is dropped by the server, whose clock alone decides. The owner renews
well before (every ``ttl / 4``). Heartbeats of the workers (membership) live
in the same bucket and lapse the same way.

Checkpoints (the channels a server's owner tracks, so a successor can end
the calls that vanished during the gap honestly) live in a second bucket
without TTL: they must outlive the lease they belong to.

Key names: ``lease.<server>``, ``worker.<worker>``; names are escaped into
the characters KV keys allow (``escape``).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import CacofoniskError, ConfigurationError

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[A-Za-z0-9_-]")
LEASE = "lease."
WORKER = "worker."


@dataclass(frozen=True)
class SavedCheckpoint:
    """What a server's last owner left for its successor.

    Attributes:
        channels: the channels it tracked (CoreShowChannel-like bodies, the
            ended calls whose hangup was not stored yet flagged with
            ``HangupEventId``).
        outbox: the messages it handed to its publisher that JetStream had
            not acknowledged (``Message.as_json``); the successor sends them
            again (the same ``Nats-Msg-Id``: stored once).
        revision: the entry's revision (0: none yet), for compare-and-set.
        lease: the fencing token of the lease it was written under (0: none).
    """

    channels: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    revision: int
    lease: int = 0


class LeaseLost(CacofoniskError):
    """A renew found the lease gone or owned by someone else: stop following."""


class ClusterUnavailable(CacofoniskError):
    """NATS (JetStream) could not be reached or answered with an error."""


def escape(name: str) -> str:
    """A server or worker name as a KV key token: ``pbx1:5038`` -> ``pbx1=3a5038``.

    Why: KV keys allow only ``[-/_=.A-Za-z0-9]``, and ``.`` separates tokens.
    """
    return "".join(c if _SAFE.fullmatch(c) else "".join(f"={b:02x}" for b in c.encode())
                   for c in name)


def unescape(token: str) -> str:
    """The inverse of ``escape``."""
    raw = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "=" and re.fullmatch(r"[0-9a-f]{2}", token[i + 1:i + 3]):
            raw.append(int(token[i + 1:i + 3], 16))
            i += 3
        else:
            raw.extend(token[i].encode())
            i += 1
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class Entry:
    """One live key of the lease bucket: its decoded value and revision."""

    name: str
    revision: int
    value: dict[str, Any]


@dataclass
class ClusterView:
    """What the lease bucket holds now: live workers and held leases."""

    workers: dict[str, Entry] = field(default_factory=dict)
    leases: dict[str, Entry] = field(default_factory=dict)


def _decode(data: bytes | None) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class LeaseStore:
    """The two buckets of one cluster, through one NATS connection.

    Args:
        js: a nats-py JetStreamContext.
        bucket: the lease bucket's name; checkpoints go to ``<bucket>_calls``.
        ttl: the lease time-to-live in seconds (the bucket's max_age).
        timeout: how long one KV request may take.
    """

    def __init__(self, js: Any, bucket: str, ttl: float, timeout: float) -> None:
        self._js = js
        self.bucket = bucket
        self.ttl = ttl
        self.timeout = timeout
        self._kv: Any = None
        self._calls: Any = None

    async def open(self, replicas: int = 1, create: bool = True) -> None:
        """Bind to the buckets, creating them if absent (``create``).

        Raises:
            ConfigurationError: the lease bucket exists with another TTL.
            ClusterUnavailable: JetStream refused or did not answer.
        """
        from nats.js.errors import BucketNotFoundError  # extra 'nats'

        try:
            try:
                self._kv = await self._js.key_value(self.bucket)
                self._calls = await self._js.key_value(f"{self.bucket}_calls")
            except BucketNotFoundError:
                if not create:
                    raise ClusterUnavailable(
                        f"no cluster bucket {self.bucket!r} in this NATS: no worker has "
                        f"started yet (start `cacofonisk listen --cluster ...` first)") from None
                self._kv = await self._js.create_key_value(
                    bucket=self.bucket, ttl=self.ttl, history=1, replicas=replicas,
                    description="cacofonisk leases and worker heartbeats")
                self._calls = await self._js.create_key_value(
                    bucket=f"{self.bucket}_calls", history=1, replicas=replicas,
                    description="cacofonisk: channels in flight per server")
            status = await self._kv.status()
        except CacofoniskError:
            raise
        except Exception as err:
            raise ClusterUnavailable(f"JetStream key-value bucket {self.bucket!r}: "
                                     f"{str(err) or type(err).__name__}") from None
        ttl = status.ttl
        if create and ttl is not None and abs(ttl - self.ttl) > 1e-3:
            raise ConfigurationError(
                f"cluster bucket {self.bucket!r} has a lease TTL of {ttl:g} s, not "
                f"{self.ttl:g} s: give every worker the same --lease-ttl (or another "
                f"--cluster-bucket)")

    # -- leases --------------------------------------------------------------------

    async def claim(self, server: str, value: dict[str, Any]) -> int | None:
        """Create the lease of ``server`` if nobody holds it; its revision, or None."""
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            return int(await self._kv.create(LEASE + escape(server), _encode(value)))
        except KeyWrongLastSequenceError:
            return None

    async def renew(self, server: str, revision: int, value: dict[str, Any]) -> int:
        """Rewrite the lease if it is still at ``revision``; the new revision.

        Raises:
            LeaseLost: it lapsed or another worker holds it now.
        """
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            return int(await self._kv.update(LEASE + escape(server), _encode(value),
                                             last=revision))
        except KeyWrongLastSequenceError:
            raise LeaseLost(f"lease of server {server!r} lapsed or was taken over") from None

    async def release(self, server: str, revision: int) -> None:
        """Give the lease up at once (if still ours), so a successor claims it now."""
        await self._kv.delete(LEASE + escape(server), last=revision)

    async def heartbeat(self, worker: str, value: dict[str, Any]) -> None:
        """Say that ``worker`` is alive for another TTL."""
        await self._kv.put(WORKER + escape(worker), _encode(value))

    async def leave(self, worker: str) -> None:
        """Remove ``worker``'s heartbeat: the others re-spread at once."""
        await self._kv.delete(WORKER + escape(worker))

    async def view(self) -> ClusterView:
        """Every live worker and lease, read through one ordered consumer."""
        view = ClusterView()
        watcher = await self._kv.watchall(ignore_deletes=True)
        try:
            while True:
                entry = await watcher.updates(timeout=self.timeout)
                if entry is None:
                    break
                if entry.operation is not None:
                    continue
                name = entry.key
                kind, _, token = name.partition(".")
                item = Entry(unescape(token), int(entry.revision), _decode(entry.value))
                if kind == "lease":
                    view.leases[item.name] = item
                elif kind == "worker":
                    view.workers[item.name] = item
                if not entry.delta:
                    break
        finally:
            await watcher.stop()
        return view

    # -- checkpoints -----------------------------------------------------------------

    async def read_checkpoint(self, server: str) -> SavedCheckpoint:
        """The last owner's checkpoint of ``server``: channels, outbox,
        revision and the lease it was written under."""
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await self._calls.get(escape(server))
        except KeyNotFoundError:
            return SavedCheckpoint([], [], 0)
        value = _decode(entry.value)
        channels, outbox = value.get("channels", []), value.get("outbox", [])
        return SavedCheckpoint(channels if isinstance(channels, list) else [],
                               outbox if isinstance(outbox, list) else [],
                               int(entry.revision), int(value.get("lease", 0) or 0))

    async def save_checkpoint(self, server: str, channels: list[dict[str, Any]],
                              revision: int, owner: str, lease: int = 0,
                              outbox: list[dict[str, Any]] | None = None) -> int:
        """Write the channels of ``server``; compare-and-set on ``revision``.

        ``lease`` is the writer's fencing token (the revision that claimed
        its lease), kept with the channels. When the bucket holds another
        revision than ``revision``, the write is retried from the current
        one only if that was written under the same or an older lease (our
        own write whose answer was lost, or a predecessor's); a checkpoint
        of a newer lease is never overwritten by a stale owner.

        Raises:
            LeaseLost: the checkpoint was written under a newer lease.
        """
        from nats.js.errors import KeyWrongLastSequenceError

        data = _encode({"owner": owner, "lease": lease, "channels": channels,
                        "outbox": outbox or []})
        key = escape(server)
        try:
            return int(await self._calls.update(key, data, last=revision))
        except KeyWrongLastSequenceError:
            current = await self.read_checkpoint(server)
            if current.lease > lease:
                raise LeaseLost(f"the checkpoint of server {server!r} was written under a "
                                f"newer lease ({current.lease} > {lease}); not "
                                f"overwritten") from None
            return int(await self._calls.update(key, data, last=current.revision))


__all__ = ["ClusterUnavailable", "ClusterView", "Entry", "LeaseLost", "LeaseStore",
           "SavedCheckpoint", "escape", "unescape"]

"""Connecting to NATS and making sure the JetStream streams exist.

Why shared: ``listen --publish``, ``deliver``, ``replay nats://`` and the
cluster mode connect the same way (retrying, logging the connection
lifecycle at INFO) and create the same streams when absent, with the same
settings, so whichever process starts first sets a deployment up.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import attrs
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js import api
from nats.js.errors import NotFoundError

from ..errors import ConfigurationError
from .subjects import DEFAULT_STREAM, SubjectScheme

log = logging.getLogger(__name__)

_RETENTION = {"limits": api.RetentionPolicy.LIMITS, "interest": api.RetentionPolicy.INTEREST,
              "workqueue": api.RetentionPolicy.WORK_QUEUE}


@attrs.frozen
class StreamSettings:
    """The JetStream stream records are stored in.

    Attributes:
        name: the stream's name (``CACOFONISK``); the dead letters go to
            ``<name>_DEAD``.
        max_age: seconds a message is kept (0: no limit); default 7 days, so
            ``replay nats://`` can rebuild last week.
        replicas: copies in a cluster (1, 3 or 5; at most the cluster's size).
        retention: 'limits' (keep until max_age; several consumers can
            read), 'interest' or 'workqueue' (JetStream's policies).
        duplicate_window: seconds within which a re-sent ``Nats-Msg-Id`` is
            dropped; it must cover the longest outage a publisher retries
            through (a failover, a NATS restart).
    """

    name: str = DEFAULT_STREAM
    max_age: float = 7 * 24 * 3600.0
    replicas: int = 1
    retention: str = "limits"
    duplicate_window: float = 600.0

    def __attrs_post_init__(self) -> None:
        if self.retention not in _RETENTION:
            raise ConfigurationError(
                f"stream retention {self.retention!r} must be one of {sorted(_RETENTION)}")
        if not 1 <= self.replicas <= 5:
            raise ConfigurationError(f"stream replicas must be 1 to 5, not {self.replicas}")
        if self.max_age < 0 or self.duplicate_window <= 0:
            raise ConfigurationError("stream max age must be >= 0 and duplicate window > 0 "
                                     "seconds")
        if not self.name or any(c in self.name for c in ". *>"):
            raise ConfigurationError(f"stream name {self.name!r} may not hold '.', '*', '>' "
                                     "or spaces")


async def connect(servers: Sequence[str], name: str, **callbacks: Any) -> Client:
    """Connect (nats-py keeps reconnecting forever afterwards).

    Raises:
        OSError, nats errors: the first connection failed (the caller retries).
    """
    async def on_error(err: Exception) -> None:
        log.info("NATS: %s", err)

    async def on_disconnect() -> None:
        log.warning("NATS: disconnected from %s", list(servers))

    async def on_reconnect() -> None:
        log.info("NATS: reconnected")

    options: dict[str, Any] = {
        "error_cb": on_error, "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect, "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5, "connect_timeout": 2, "name": name,
        "allow_reconnect": True}
    options.update(callbacks)
    client: Client = await nats.connect(servers=list(servers), **options)
    log.info("NATS: connected to %s", client.connected_url.netloc if client.connected_url
             else servers)
    return client


async def ensure_stream(js: JetStreamContext, settings: StreamSettings,
                        scheme: SubjectScheme, dead: bool = False) -> None:
    """Create the records' stream (or, ``dead``, the dead letters') when absent.

    An existing stream is left as it is: its operator may have tuned it.
    Its description records the partition count (``partitions=N``), so that
    ``deliver`` consumes exactly the partitions the publishers fill; a
    publisher configured otherwise is reported at ERROR.
    """
    name = f"{settings.name}_DEAD" if dead else settings.name
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        pass
    else:
        stored = partitions_of(info)
        if not dead and stored is not None and stored != scheme.partitions:
            log.error("stream %s holds %d call partitions, this publisher makes %d: use "
                      "--partitions %d (deliver follows the stream's count)", name, stored,
                      scheme.partitions, stored)
        return
    subjects = ([f"{scheme.prefix}.dead.>"] if dead
                else [scheme.calls_filter, scheme.raw_filter()])
    await js.add_stream(api.StreamConfig(
        name=name, subjects=subjects, retention=_RETENTION[settings.retention],
        max_age=settings.max_age or None, num_replicas=settings.replicas,
        storage=api.StorageType.FILE, duplicate_window=settings.duplicate_window,
        description=f"cacofonisk {'dead letters' if dead else 'call events'}; "
                    f"partitions={scheme.partitions}"))
    log.info("NATS: created stream %s (%s, replicas %d)", name, ", ".join(subjects),
             settings.replicas)


def partitions_of(info: Any) -> int | None:
    """The partition count a records' stream was created with (its description)."""
    description = getattr(info.config, "description", None) or ""
    for word in description.replace(";", " ").split():
        if word.startswith("partitions="):
            try:
                return int(word.removeprefix("partitions="))
            except ValueError:
                return None
    return None

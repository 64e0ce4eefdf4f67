"""``listen --cluster --http``: the live view of the servers this worker follows now.

Why a source of its own: in cluster mode the set of servers changes while
the process runs (a hand-over takes one away, a take-over adds one), so the
view cannot be handed a fixed list of managers as ``listen --http`` does.
``ClusterSource`` asks the worker for its followers on every request;
``/health`` adds the cluster as the last round read it from the lease
bucket (the same rows as ``cacofonisk cluster status``) and this worker's
own leases, so answering never waits on NATS.

Imported only with ``--http`` (its callers need aiohttp for the server).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..web.history import CallHistories
from ..web.sources import LiveSource
from .status import status_rows


class ClusterSource(LiveSource):
    """The live view's source for a ``ClusterWorker``: its followers, now.

    Args:
        worker: the ClusterWorker (``followers``, ``last_view``).
        histories: the web reporter's call histories (for the fallback).
        clock: ``time.monotonic`` (the fence clock).
    """

    def __init__(self, worker: Any, histories: CallHistories | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__([], None, histories)
        self.worker = worker
        self.clock = clock

    def _following(self) -> list[Any]:
        """The followers that run and may still publish, by server name."""
        return [f for _, f in sorted(self.worker.followers.items())
                if f.runner is not None and not f.fenced()]

    @property
    def managers(self) -> list[Any]:
        """The managers of the servers followed now (handed-over ones leave)."""
        return [f.runner.channel_managers[0] for f in self._following()]

    @managers.setter
    def managers(self, value: list[Any]) -> None:
        """LiveSource's constructor sets it; the followers decide instead."""

    def health(self) -> dict[str, dict[str, Any]]:
        """Per-server runner figures of the servers followed now."""
        return {f.name: f.health() for f in self._following()}

    def cluster(self) -> dict[str, Any]:
        """``/health``'s ``cluster`` part: this worker, its leases, and every
        server's owner, since when, with what lag (as of the last round),
        and with ``--publish`` the publisher's figures (``expired``: records
        dropped unsent at a fence)."""
        worker, now = self.worker, self.clock()
        leases = {name: {"since": f.since, "lease": f.lease,
                         "valid_for": round(max(f.valid_until - now, 0.0), 3)}
                  for name, f in sorted(worker.followers.items())}
        view, read_at = worker.last_view, worker.last_view_at
        publisher = getattr(worker.reporter, "publisher", None)  # --publish: expired ...
        return {
            "worker": worker.worker_id,
            "leases": leases,
            "servers": [] if view is None else status_rows(view, worker.hosts),
            "workers": [] if view is None else sorted(view.workers),
            "read_age": None if read_at is None else round(max(time.time() - read_at, 0.0), 3),
            "publisher": None if publisher is None else publisher.health(),
        }


async def serve_worker(worker: Any, view: Any, options: Any,
                       run: Callable[[], Any]) -> None:
    """Serve ``view`` (fed by ``worker``) while ``run()`` runs the worker.

    Raises:
        ConfigurationError: the HTTP address cannot be bound (before the
            worker joins the cluster).
    """
    from ..web.server import HttpServer, announce

    view.source = ClusterSource(worker, view.histories)
    async with HttpServer(view, options.host, options.port) as server:
        announce(server, options.token)
        await run()


__all__ = ["ClusterSource", "serve_worker"]

"""Which live worker should follow which Asterisk server: rendezvous hashing.

Why rendezvous (highest random weight) hashing: every worker computes the
same answer from the same list of live workers, with no coordinator and no
shared table; a server moves only when its winner joins or leaves, so a
worker joining takes about 1/n of the servers (from every other worker a
little) and a worker leaving gives away only its own: no storm of moves.
Pure: no clock, no I/O; the worker loop decides *when* to act on it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def score(server: str, worker: str) -> int:
    """The weight of ``worker`` for ``server``; the highest weight wins.

    A cryptographic hash, not ``hash()``: every process (any Python, any
    PYTHONHASHSEED) must compute the same number.
    """
    digest = hashlib.blake2b(f"{server}\0{worker}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_of(server: str, workers: Iterable[str]) -> str | None:
    """The worker that should follow ``server``, or None when no worker lives.

    Ties (never seen in practice with 64-bit weights) go to the smaller name,
    so the answer still does not depend on the order of ``workers``.
    """
    best: tuple[int, str] | None = None
    for worker in workers:
        key = (score(server, worker), worker)
        if best is None or key[0] > best[0] or (key[0] == best[0] and worker < best[1]):
            best = key
    return None if best is None else best[1]


def assignment(servers: Iterable[str], workers: Iterable[str],
               current: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every server mapped to a live worker, loads differing by at most one.

    Args:
        servers: every server of the cluster.
        workers: the live workers.
        current: who follows which server now (from the lease bucket).

    Why not plain ``owner_of``: with few servers per worker, hashing alone is
    uneven (6 servers on 2 workers come out 5/1 often enough). Here each
    worker gets a quota of ``floor(S/W)`` or one more (the extra ones go to
    the workers that hold most now, so they need not move); a server stays
    with its current live owner unless that owner is over its quota (it
    gives up the servers it weighs least); every other server goes to the
    highest-weight worker with room. So a join moves about ``S/(W+1)``
    servers, a leave only the leaver's: no storm of moves. Every worker
    computes the same answer from the same view.
    """
    live = sorted(set(workers))
    names = sorted(set(servers))
    if not live:
        return {}
    held = {s: w for s, w in (current or {}).items() if s in set(names) and w in set(live)}
    load = dict.fromkeys(live, 0)
    for worker in held.values():
        load[worker] += 1
    base, extra = divmod(len(names), len(live))
    by_load = sorted(live, key=lambda w: (-load[w], w))
    quota = {w: base + (1 if i < extra else 0) for i, w in enumerate(by_load)}
    owner: dict[str, str] = {}
    for worker in live:
        mine = sorted((s for s, w in held.items() if w == worker),
                      key=lambda s: (-score(s, worker), s))
        for server in mine[:quota[worker]]:
            owner[server] = worker
    taken = dict.fromkeys(live, 0)
    for worker in owner.values():
        taken[worker] += 1
    free = [s for s in names if s not in owner]
    pairs = sorted(((score(s, w), s, w) for s in free for w in live), reverse=True)
    for _, server, worker in pairs:
        if server not in owner and taken[worker] < quota[worker]:
            owner[server] = worker
            taken[worker] += 1
    return owner


def moves(before: Mapping[str, str], after: Mapping[str, str]) -> int:
    """How many servers change owner between two assignments."""
    return sum(1 for server, worker in after.items() if before.get(server) != worker)


__all__ = ["assignment", "moves", "owner_of", "score"]

"""Cluster mode: several ``listen`` workers share the Asterisk servers.

Why a package of its own: it is an adapter (NATS JetStream key-value
buckets, asyncio, clocks), never imported by the pure core, and only
imported when ``listen --cluster`` or ``cluster status`` runs, so the base
install does not need ``nats-py`` (extra ``cacofonisk[nats]``).

* ``placement``: which live worker should follow which server
  (rendezvous hashing; pure, no I/O);
* ``leases``: the lease, heartbeat and checkpoint buckets on JetStream KV;
* ``follow``: one followed server: an AmiRunner behind a fence;
* ``worker``: the loop that heartbeats, claims, renews, hands over, fences;
* ``status``: what ``cacofonisk cluster status`` prints;
* ``wiring``: ``listen --cluster`` (options, reporter per server, signals).

See docs/cluster.md for the design and its guarantees.
"""

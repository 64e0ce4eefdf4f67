"""Durable delivery adapters: NATS JetStream publishing, replaying, webhook delivery.

Nothing here is imported by the pure core or by ``import cacofonisk``: each
module is loaded only by the command or user code that needs it, and only
``publisher``, ``source`` and ``deliver`` import the optional ``nats-py``
(``pip install cacofonisk[nats]``); ``webhook`` imports ``aiohttp``
(``cacofonisk[webhook]``). See docs/delivery.md.
"""

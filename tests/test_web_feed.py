"""The SSE feed on its own: numbering, resume, and bounded subscribers."""
from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cacofonisk.web.feed import EventFeed, TooManyClients


def _feed(published: int, buffer_size: int) -> EventFeed:
    feed = EventFeed(buffer_size=buffer_size, client_queue=4)
    for n in range(published):
        feed.publish({"n": n})
    return feed


@given(published=st.integers(0, 40), buffer_size=st.integers(1, 12), last_id=st.integers(0, 50))
def test_resume_sends_exactly_the_kept_events_after_the_id_and_says_when_some_were_lost(
        published: int, buffer_size: int, last_id: int) -> None:
    async def check() -> None:
        feed = _feed(published, buffer_size)
        resume = feed.subscribe(last_id)
        kept = list(range(max(1, published - buffer_size + 1), published + 1))
        assert [item.seq for item in resume.backlog] == [s for s in kept if s > last_id]
        lost = (last_id < published and bool(kept) and last_id < kept[0] - 1) or (
            last_id > published)
        assert resume.missed == lost
    asyncio.run(check())


async def test_sequence_numbers_grow_by_one_per_event() -> None:
    feed = EventFeed()
    assert [feed.publish({"i": i}) for i in range(5)] == [1, 2, 3, 4, 5]


async def test_a_full_subscriber_is_dropped_its_queue_freed_and_told_to_close() -> None:
    feed = EventFeed(client_queue=3)
    slow = feed.subscribe().subscription
    fast = feed.subscribe().subscription
    for i in range(3):
        feed.publish({"i": i})
        await fast.queue.get()
    feed.publish({"i": 3})  # slow holds 3 already: it is dropped, fast is not
    assert slow.dropped and not fast.dropped
    assert slow.queue.qsize() == 1 and slow.queue.get_nowait() is None
    assert feed.clients == 1 and feed.dropped_total == 1
    assert (await fast.queue.get()).seq == 4  # type: ignore[union-attr]


async def test_subscribers_beyond_the_limit_are_refused() -> None:
    feed = EventFeed(max_clients=2)
    feed.subscribe()
    feed.subscribe()
    with pytest.raises(TooManyClients, match="max_clients"):
        feed.subscribe()


async def test_close_ends_every_stream() -> None:
    feed = EventFeed()
    subs = [feed.subscribe().subscription for _ in range(3)]
    feed.publish({"x": 1})
    feed.close()
    assert feed.clients == 0
    assert all(s.queue.get_nowait() is None for s in subs)  # pending events freed first

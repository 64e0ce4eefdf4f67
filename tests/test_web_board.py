"""The call board in a real headless Chromium, fed through the whole live pipeline:
the project's AMI test server streams calls over TCP to an AmiRunner whose
managers feed the LiveView that the browser watches."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

import browser
from cacofonisk.callerid import CallerId
from cacofonisk.commands.demo import answered_call
from cacofonisk.runners.ami_runner import AmiRunner
from cacofonisk.snapshot import CallSnapshot, ConferenceState, HoldState, ParkState, QueueState
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.web.app import LiveView
from cacofonisk.web.server import HttpServer
from cacofonisk.web.sources import LiveSource
from web_helpers import UP_AFTER, fed_manager

pytestmark = [pytest.mark.skipif(not browser.available(), reason=browser.MISSING),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

WAIT = 30.0  # seconds a condition may take on a busy 2-core machine before it fails


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with browser.chromium() as chrome:
        yield chrome


@pytest.fixture
def loop() -> Iterator[browser.LoopThread]:
    thread = browser.LoopThread()
    yield thread
    thread.close()


def wait_for(driver: Any, condition: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(condition, message=what)


def rows(driver: Any) -> list[dict[str, str]]:
    """Each row of the board as {server, call_id, state, caller, badges}."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#calls tbody tr')).map(tr => ({
            server: tr.dataset.server, call_id: tr.dataset.callId, state: tr.dataset.state,
            caller: tr.children[2].textContent, other: tr.children[4].textContent,
            hidden: tr.hidden,
            badges: Array.from(tr.querySelectorAll('.badge')).map(b => b.dataset.badge)}));
    """)


def path_steps(driver: Any) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#detail-path li')).map(l => l.textContent)")


class Pipeline:
    """AMI test server -> AmiRunner -> LiveView -> HttpServer, on the loop thread."""

    def __init__(self, loop: browser.LoopThread, events: list[dict[str, str]],
                 pause_after: int) -> None:
        self.loop = loop
        self.view = LiveView()
        self.srv = AmiTestServer(events, username="board", secret="pw", port=0)
        self.srv.pause(after=pause_after)
        self.runner: AmiRunner | None = None
        self.http: HttpServer | None = None
        self.task: Any = None

    async def start(self) -> str:
        import asyncio

        await self.srv.start()
        self.runner = AmiRunner({"host": "127.0.0.1", "port": self.srv.port,
                                 "username": "board", "password": "pw", "name": "lab"},
                                self.view.wrap(), reconnect_delay=0.1)
        self.view.attach(self.runner)
        self.http = HttpServer(self.view, "127.0.0.1", 0)
        await self.http.start()
        self.task = asyncio.create_task(self.runner.run_async())
        return self.http.url

    async def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            await self.task
        if self.http is not None:
            await self.http.stop()
        await self.srv.close()

    async def step(self, until: int | None) -> None:
        """Let the server send events up to ``until`` (None: to the end)."""
        if until is not None:
            self.srv.pause(after=until)
        self.srv.resume()


def test_rows_and_call_path_appear_and_leave_as_the_ami_stream_plays(
        driver: Any, loop: browser.LoopThread) -> None:
    first = answered_call(0, system="lab")
    second = answered_call(1, caller=("203", "Carol"), callee=("204", "Dave"), system="lab")
    events = first[:UP_AFTER] + second[:UP_AFTER] + first[UP_AFTER:] + second[UP_AFTER:]
    pipeline = Pipeline(loop, events, pause_after=2 * UP_AFTER)
    url = loop.run(pipeline.start())
    try:
        driver.get(url)
        wait_for(driver, lambda d: len(rows(d)) == 2 and {r["state"] for r in rows(d)} == {"up"},
                 "two answered calls on the board")
        by_caller = {r["caller"]: r for r in rows(driver)}
        assert set(by_caller) == {"Alice <201>", "Carol <203>"}
        assert by_caller["Carol <203>"]["other"] == "Dave <204>"
        assert driver.find_element("id", "count").get_attribute("data-count") == "2"

        driver.find_element("css selector", 'tr[data-call-id="lab-1700000000.0"]').click()
        wait_for(driver, lambda d: path_steps(d) == ["ring", "dial_end", "answer"],
                 "the path of the clicked call")
        if shutil.which("dot"):
            wait_for(driver, lambda d: d.execute_script(
                "const i = document.getElementById('detail-diagram');"
                "return i.complete && i.naturalWidth > 0 && !i.hidden"), "the path diagram")
        else:
            wait_for(driver, lambda d: "Graphviz" in d.find_element(
                "id", "detail-diagram-note").text, "the no-Graphviz note")

        loop.run(pipeline.step(2 * UP_AFTER + len(first) - UP_AFTER))  # the first call ends
        wait_for(driver, lambda d: [r["caller"] for r in rows(d)] == ["Carol <203>"],
                 "the ended call leaves the board")
        wait_for(driver, lambda d: path_steps(d) == ["ring", "dial_end", "answer", "end"],
                 "the selected call's path ends")

        loop.run(pipeline.step(None))
        wait_for(driver, lambda d: rows(d) == [], "the board empties")
        assert driver.find_element("id", "empty").is_displayed()
        assert driver.find_element("id", "live").text == "live"
    finally:
        loop.run(pipeline.stop())


def test_five_hundred_calls_render_and_the_board_stays_usable(
        driver: Any, loop: browser.LoopThread) -> None:
    view = LiveView()
    loop.call(fed_manager, view, 500)
    http = HttpServer(view, "127.0.0.1", 0)
    loop.run(http.start())
    try:
        driver.get(http.url)
        wait_for(driver, lambda d: d.find_element("id", "count").get_attribute("data-count")
                 == "500", "500 calls counted")
        board = rows(driver)
        assert len(board) == 500
        assert len({r["call_id"] for r in board}) == 500
        last = driver.find_elements("css selector", "#calls tbody tr")[-1]
        driver.execute_script("arguments[0].scrollIntoView()", last)
        last.click()
        wait_for(driver, lambda d: path_steps(d) == ["ring", "dial_end", "answer"],
                 "the path of the last call")
        assert board[-1]["call_id"] in driver.find_element("id", "detail-title").text
        from selenium.webdriver.common.keys import Keys

        driver.find_element("css selector", "#calls tbody tr").send_keys(Keys.ENTER)
        wait_for(driver, lambda d: board[0]["call_id"] in d.find_element(
            "id", "detail-title").text, "Enter on the first row opens its path")
        driver.find_element("id", "filter").send_keys("1700000000.998")
        wait_for(driver, lambda d: [r["call_id"] for r in rows(d) if not r["hidden"]]
                 == ["pbx1-1700000000.998"], "the filter narrows 500 rows to one")
    finally:
        loop.run(http.stop())


def test_each_special_state_of_a_snapshot_gets_its_badge(
        driver: Any, loop: browser.LoopThread) -> None:
    alice, bob = CallerId(name="Alice", number="201"), CallerId(name="Bob", number="202")
    specials = {
        "hold": {"hold": HoldState(holder=bob, held=alice, since=1.0)},
        "park": {"park": ParkState(lot="default", space="701", parked=alice, parker=bob)},
        "queue": {"queue": QueueState(queue="sales", position=2)},
        "conference": {"conference": ConferenceState(room="1000", members=(alice, bob))},
    }
    snapshot = [CallSnapshot(call_id=f"c-{kind}", server="pbx1", state="up", caller=alice,
                             callee=bob, **state) for kind, state in specials.items()]
    view = LiveView()
    view.source = LiveSource([], snapshot=lambda: snapshot)
    http = HttpServer(view, "127.0.0.1", 0)
    loop.run(http.start())
    try:
        driver.get(http.url)
        wait_for(driver, lambda d: len(rows(d)) == 4, "four calls")
        badges = {r["call_id"]: r["badges"] for r in rows(driver)}
        assert badges == {f"c-{kind}": [kind] for kind in specials}
        texts = driver.execute_script(
            "return Array.from(document.querySelectorAll('.badge')).map(b => b.textContent)")
        assert "parked 701@default" in texts and "queue sales #2" in texts
        assert "conference 1000 (2)" in texts
    finally:
        loop.run(http.stop())


def _index_after(events: list[dict[str, str]], name: str) -> int:
    """How many events of the log to send so that the first ``name`` event is in
    (``last:NAME``: the last one)."""
    which, _, event = name.rpartition(":")
    found = [i for i, e in enumerate(events) if e.get("Event") == event]
    return (found[-1] if which == "last" else found[0]) + 1


def badge_comes_and_goes(driver: Any, loop: browser.LoopThread, events: list[dict[str, str]],
                         kind: str, begins: str, ends: str) -> None:
    """Stream ``events``; the ``kind`` badge shows once ``begins`` was sent, and is
    gone once ``ends`` was; at the end of the log the board is empty."""
    pipeline = Pipeline(loop, events, pause_after=_index_after(events, begins))
    url = loop.run(pipeline.start())
    try:
        driver.get(url)
        wait_for(driver, lambda d: any(kind in r["badges"] for r in rows(d)),
                 f"a {kind} badge after {begins}")
        loop.run(pipeline.step(_index_after(events, ends)))
        wait_for(driver, lambda d: rows(d) and not any(kind in r["badges"] for r in rows(d)),
                 f"the {kind} badge gone after {ends}")
        loop.run(pipeline.step(None))
        wait_for(driver, lambda d: rows(d) == [], "the board empties at the end of the log")
    finally:
        loop.run(pipeline.stop())


NEEDS_SNAPSHOT = pytest.mark.skipif(
    not hasattr(__import__("cacofonisk.manager").manager.ChannelManager, "snapshot"),
    reason="ChannelManager.snapshot() (hold, park, queue and conference state) is not in "
           "this build")


@NEEDS_SNAPSHOT
def test_hold_badge_comes_and_goes_with_a_simulated_call(
        driver: Any, loop: browser.LoopThread) -> None:
    from cacofonisk.testing.scenarios import build

    events = [dict(e) for e in build("answered", "ami2", hold=True).events]
    badge_comes_and_goes(driver, loop, events, "hold", "Hold", "Unhold")


@NEEDS_SNAPSHOT
@pytest.mark.parametrize("recording,kind,begins,ends", [
    ("hold_unhold", "hold", "Hold", "Unhold"),
    ("park_timeout", "park", "ParkedCall", "ParkedCallTimeOut"),
    ("queue", "queue", "QueueCallerJoin", "QueueCallerLeave"),
    ("conference_three", "conference", "ConfbridgeJoin", "last:ConfbridgeLeave")])
def test_lab_recording_badges_come_and_go_on_the_board(
        driver: Any, loop: browser.LoopThread, recording: str, kind: str, begins: str,
        ends: str) -> None:
    import json

    from conformance import SHARED, SKIP_REASON

    path = SHARED / "lab" / f"{recording}.json"
    if not path.is_file():
        pytest.skip(SKIP_REASON)
    badge_comes_and_goes(driver, loop, json.loads(path.read_text()), kind, begins, ends)


def test_with_a_token_the_board_opens_once_with_it_and_streams_on_its_cookie(
        driver: Any, loop: browser.LoopThread) -> None:
    view = LiveView(token="board-token-123")
    loop.call(fed_manager, view, 2)
    http = HttpServer(view, "127.0.0.1", 0)
    loop.run(http.start())
    try:
        driver.delete_all_cookies()
        driver.get(http.url + "calls")
        assert "needs a token" in driver.page_source
        driver.get(http.url + "?token=board-token-123")
        assert "token" not in driver.current_url  # traded for a cookie at once
        wait_for(driver, lambda d: len(rows(d)) == 2, "the calls, fetched with the cookie")
        wait_for(driver, lambda d: d.find_element("id", "live").text == "live",
                 "the event stream, opened with the cookie")
    finally:
        driver.delete_all_cookies()
        loop.run(http.stop())

#!/usr/bin/env python3
"""Take the README's screenshot of the call board: docs/call-board.png.

The whole live pipeline runs on this machine: the project's AMI test server
streams a dozen calls (some ringing, some answered, one on hold, one waiting
in a queue, begun at staggered times) over TCP to an AmiRunner, whose
managers feed a LiveView served on a free loopback port; headless Chromium
(Debian's chromium + chromedriver, driven by Selenium) opens the board,
clicks the call on hold to show its path through the call machine, and
saves the picture.

    .venv/bin/python scripts/call-board-screenshot.py [OUT.png]
"""
from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cacofonisk.commands.demo import answered_call
from cacofonisk.runners.ami_runner import AmiRunner
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.web.app import LiveView
from cacofonisk.web.server import HttpServer

PEOPLE = [("201", "Alice"), ("202", "Bob"), ("203", "Carol"), ("204", "Dave"),
          ("205", "Erin"), ("206", "Frank"), ("207", "Grace"), ("208", "Heidi"),
          ("209", "Ivan"), ("210", "Judy"), ("211", "Mallory"), ("212", "Niaj"),
          ("213", "Olivia"), ("214", "Peggy"), ("215", "Rupert"), ("216", "Sybil"),
          ("217", "Trent"), ("218", "Victor"), ("219", "Walter"), ("220", "Zoe"),
          ("0612345678", "+31 612 345 678"), ("0201234567", "Reception")]
RINGING_AFTER, UP_AFTER = 4, 10  # events of answered_call that make it ring / answer
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,760", "--hide-scrollbars")


def _stamped(events: Sequence[Mapping[str, Any]], began: float) -> list[dict[str, str]]:
    return [{**event, "Timestamp": f"{began + i:.6f}"} for i, event in enumerate(events)]


def special_calls(now: float) -> list[dict[str, str]]:
    """From the simulator: a call put on hold, a caller waiting in a queue."""
    from cacofonisk.testing.scenarios import build
    from cacofonisk.testing.sim_base import Ids, party

    held = build("answered", "ami2", ids=Ids(system="pbx1", seq=100), hold=True,
                 parties=[party("221", "Uma"), party("222", "Bart")]).events
    queued = build("queue", "ami2", ids=Ids(system="pbx1", seq=200),
                   parties=[party("223", "Xena"), party("224", "Yuri"),
                            party("225", "Quinn")]).events
    hold_at = next(i for i, e in enumerate(held) if e["Event"] == "Hold") + 1
    joined = next(i for i, e in enumerate(queued) if e["Event"] == "QueueCallerJoin") + 1
    return _stamped(held[:hold_at], now - 200) + _stamped(queued[:joined], now - 40)


def calls_in_progress(now: float) -> list[dict[str, str]]:
    """A dozen calls, each cut where it rings or talks, begun 5 s to 9 min ago,
    then the simulator's special ones."""
    events: list[dict[str, str]] = []
    for n in range(11):
        caller, callee = PEOPLE[2 * n % len(PEOPLE)], PEOPLE[(2 * n + 1) % len(PEOPLE)]
        began = now - (540 - 47 * n)
        cut = RINGING_AFTER if n % 4 == 3 else UP_AFTER
        for i, event in enumerate(answered_call(n, caller=caller, callee=callee,
                                                system="pbx1")[:cut]):
            at = began + (i if i < RINGING_AFTER else 6 + i)
            events.append({**event, "Timestamp": f"{at:.6f}"})
    return events + special_calls(now)


async def serve(out: Path) -> None:
    events = calls_in_progress(time.time())
    view = LiveView()
    async with AmiTestServer(events, username="shot", secret="pw", port=0) as ami:
        runner = AmiRunner({"host": "127.0.0.1", "port": ami.port, "username": "shot",
                            "password": "pw", "name": "pbx1"}, view.wrap())
        view.attach(runner)
        task = asyncio.create_task(runner.run_async())
        async with HttpServer(view, "127.0.0.1", 0) as http:
            await ami.wait_until_sent(len(events))
            await asyncio.get_running_loop().run_in_executor(None, shoot, http.url, out)
        runner.stop()
        await task


def shoot(url: str, out: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="cacofonisk-shot-")
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver: Any = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                                   or "/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.find_element("id", "count").get_attribute("data-count") == "13")
        driver.find_element("css selector", 'tr[data-call-id$=".100"]').click()  # on hold
        wait.until(lambda d: d.execute_script(
            "const i = document.getElementById('detail-diagram');"
            "return i.complete && i.naturalWidth > 0 && !i.hidden"))
        time.sleep(1.2)  # one tick of the running durations
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/call-board.png")
    asyncio.run(serve(out))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

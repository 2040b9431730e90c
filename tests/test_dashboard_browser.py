"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The server is the real command, ``run.py dashboard``, in a subprocess bound to 127.0.0.1.
Screenshots are written to ``tests/screenshots/`` (ignored by git) for a person to look at.
Without a Chromium the tests skip with the reason, and CI (SIM_REQUIRE_ALL_TESTS=1) fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.test_dashboard import _batch

SHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="no Chromium on this machine (Debian: apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``run.py dashboard`` over a folder holding one real batch; yields its address."""
    root = tmp_path_factory.mktemp("served")
    _batch(root / "two")
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "dashboard", str(root), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the dashboard exited {proc.returncode}: {proc.stdout.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.3)
    yield url, port
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def chrome():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _page(chrome, url: str):
    page = chrome.new_page(viewport={"width": 1500, "height": 1300})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1",
                                                                                  "data:", "blob:")) else None)
    page.goto(url)
    page.wait_for_selector("svg.province-map", timeout=90_000)
    return page, outside


def _fills(page) -> list[str]:
    return page.eval_on_selector_all("svg.province-map path.province", "ps => ps.map(p => p.getAttribute('fill'))")


def test_served_on_localhost_only(server):
    _url, port = server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # any other address of this machine
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for a in addresses:
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((a, port)) != 0, f"the dashboard answers on {a}"


def test_load_move_the_slider_and_see_the_map_change(server, chrome):
    url, _ = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, outside = _page(chrome, url)
    assert page.locator("svg.province-map").get_attribute("data-month") == "24"
    page.screenshot(path=str(SHOTS / "explorer.png"), full_page=True)
    # the resistance's change since the start, then back to month 0 with the keyboard
    page.locator(".v-select", has_text=re.compile("^show")).locator(".v-field").click()
    page.locator(".v-overlay-container .v-list-item", has_text="change since the start").click()
    page.wait_for_selector("svg.province-map[data-mode='change']")
    before = _fills(page)
    page.get_by_role("slider").first.focus()
    t = time.perf_counter()
    page.keyboard.press("Home")
    page.wait_for_selector("svg.province-map[data-month='0']", timeout=10_000)
    elapsed = time.perf_counter() - t
    after = _fills(page)
    assert after != before and len(set(after)) == 1  # at the start nothing has changed anywhere
    page.screenshot(path=str(SHOTS / "explorer_month0_change.png"), full_page=True)
    print(f"slider to the redrawn map: {elapsed * 1000:.0f} ms")
    assert not outside, f"the page asked for files from outside this machine: {outside[:3]}"
    page.close()


def test_two_scenarios_show_the_difference_panel(server, chrome):
    url, _ = server
    page, _ = _page(chrome, url)
    diff = page.locator(".diff")
    groups = page.locator(".controls .v-select", has_text=re.compile("^groups"))
    groups.locator(".v-field").click()
    option = page.locator(".v-overlay-container .v-list-item", has_text="united_front")
    option.click()  # one group left: nothing to compare
    page.wait_for_function("!document.querySelector('.diff table.differences')")
    assert "Pick a second group" in diff.inner_text()
    option.click()  # both again
    page.keyboard.press("Escape")
    page.wait_for_selector(".diff table.differences")
    assert "united_front" in diff.inner_text() and "95% CI" in diff.inner_text()
    rows = page.locator(".diff table.differences tr")
    assert rows.count() == 5  # a header and the four compared outcomes
    page.locator(".diff").screenshot(path=str(SHOTS / "differences.png"))
    page.close()

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

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.test_dashboard import _batch
from tests.test_dashboard_live import _tables

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
    _batch(root / "us_arms_sweep", "--sweep", "donors.us.arms_willingness=0,0.6")
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
    yield url, port, root
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
    _url, port, _root = server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # any other address of this machine
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for a in addresses:
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((a, port)) != 0, f"the dashboard answers on {a}"


def test_load_move_the_slider_and_see_the_map_change(server, chrome):
    url, _port, _root = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, outside = _page(chrome, url)
    assert page.locator("svg.province-map").get_attribute("data-month") == "24"
    page.wait_for_selector("img.fans", timeout=60_000)  # drawn in a thread, after the map
    page.screenshot(path=str(SHOTS / "explorer.png"), full_page=True)
    # the resistance's change since the start, then back to month 0 with the keyboard
    page.locator(".v-select", has_text=re.compile("^show")).locator(".v-input__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text="change since the start").click()
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
    url, _port, _root = server
    page, _ = _page(chrome, url)
    diff = page.locator(".diff")
    groups = page.locator(".controls .v-select", has_text=re.compile("^groups"))
    groups.locator(".v-input__slot").click()
    option = page.locator(".menuable__content__active .v-list-item", has_text=re.compile("^united_front$"))
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


def test_a_sweep_shows_its_lever_plot_and_follows_the_slider(server, chrome):
    url, _port, _root = server
    page, _ = _page(chrome, url)
    folders = page.locator(".controls .v-select", has_text=re.compile("^results folders"))
    folders.locator(".v-input__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text=re.compile("sweep$")).click()
    page.keyboard.press("Escape")
    card = page.locator(".v-card", has_text=re.compile("^Levers: us_arms_sweep"))
    card.locator("img.levers").wait_for(timeout=60_000)
    assert "donors.us.arms_willingness" in card.inner_text()
    before = card.locator("img.levers").get_attribute("src")
    page.get_by_role("slider").first.focus()
    page.keyboard.press("Home")  # month 0: every point starts from the same ground
    page.wait_for_selector("svg.province-map[data-month='0']", timeout=10_000)
    page.wait_for_function("b => { const i = document.querySelector('img.levers'); return i && i.src !== b; }",
                           arg=before, timeout=60_000)
    card.screenshot(path=str(SHOTS / "levers.png"))
    page.close()


def _choose(page, scope: str, label: str, option: str) -> None:
    """Pick ``option`` in the select labelled ``label`` inside ``scope``."""
    page.locator(f"{scope} .v-select", has_text=re.compile(f"^{label}")).locator(".v-input__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text=re.compile(f"^{re.escape(option)}$")).click()


def test_live_model_moves_export_and_replay(server, chrome, tmp_path):
    url, _port, root = server
    page = chrome.new_page(viewport={"width": 1500, "height": 1300}, accept_downloads=True)
    page.goto(url)
    page.wait_for_selector("svg.province-map", timeout=90_000)
    page.get_by_role("button", name="live model").click()
    page.get_by_label("replications").fill("5")
    page.get_by_label("seed").fill("3")
    page.get_by_label("months").fill("24")
    page.get_by_role("button", name="start").click()
    page.wait_for_selector(".live-map svg[data-month='0']", timeout=60_000)
    page.get_by_role("button", name="step 12 months").click()  # 12 months live
    page.wait_for_selector(".live-map svg[data-month='12']", timeout=60_000)
    assert "month 12" in page.locator(".live-status").inner_text()
    _choose(page, ".move-form", "actor", "United States (state)")
    _choose(page, ".move-form", "action", "arms")
    page.locator(".move-form").get_by_label(re.compile("^value")).fill("1")
    page.locator(".move-form").get_by_label("reason").fill("arm the resistance")
    page.get_by_role("button", name="make the move").click()
    page.wait_for_selector(".moves-log table.moves")
    assert "arm the resistance" in page.locator(".moves-log").inner_text()
    page.get_by_role("button", name="step 12 months").click()
    page.wait_for_selector(".live-map svg[data-month='24']", timeout=60_000)
    status = page.locator(".live-status").inner_text()
    assert re.search(r"runs changed by the moves: [1-5] of 5", status), status
    page.screenshot(path=str(SHOTS / "live.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="export the moves as a scenario file").click()
    exported = tmp_path / "played.yaml"
    download.value.save_as(exported)
    page.get_by_role("button", name="save the played runs").click()
    page.wait_for_selector("text=/saved .* and its runs in/", timeout=120_000)
    saved = [d for d in (root / "live").iterdir() if d.is_dir()]
    assert len(saved) == 1
    assert "--seed 3 -n 5" in exported.read_text(encoding="utf-8")
    replay = tmp_path / "replay"
    subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(exported), "--seed", "3", "-n", "5",
                    "--figures", "none", "--out", str(replay)], cwd=ROOT, check=True, capture_output=True,
                   timeout=600)
    a, b = _tables(saved[0]), _tables(replay)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], check_categorical=False, obj=table)
    page.close()

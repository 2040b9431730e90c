"""How fast the dashboard opens a large results folder and answers the month slider.

    uv run python bench/dashboard_benchmark.py --runs 20000 [--folder DIR] [--browser]

Makes (or reuses) a results folder of the baseline and ``united_front`` with ``--runs``
runs in all (60 months, no figures), then measures:

* summarising it the first time (every Parquet part read once; written to ``<folder>/dashboard/``);
* opening it again from that cache (fingerprint of the parts, then the cached arrays and
  tables), median of 5;
* one slider move's work in Python: the map's values and SVG and the paired differences at
  a month, median over 24 months;
* with ``--browser``: ``run.py dashboard`` served on 127.0.0.1 and driven in Debian's
  Chromium: the page's load to its first map, and a slider move to the redrawn map (median of 10).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.dashboard.folders import map_of  # noqa: E402
from sim.dashboard.summary import CACHE, summarise  # noqa: E402
from sim.dashboard.svgmap import map_svg, outline  # noqa: E402
from sim.dashboard.views import Pick, differences, map_values  # noqa: E402


def _make(folder: Path, runs: int) -> None:
    if (folder / "manifest.json").is_file():
        return
    cmd = [sys.executable, str(ROOT / "run.py"), "run", "scenarios/baseline.yaml", "scenarios/united_front.yaml",
           "-n", str(runs // 2), "--months", "60", "--seed", "1", "--figures", "none", "--out", str(folder)]
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"made {folder} ({runs} runs) in {time.perf_counter() - t:.0f} s")


def _python(folder: Path, again: bool) -> None:
    names = list(map_of(json.loads((folder / "manifest.json").read_text())).names)
    if again:
        shutil.rmtree(folder / CACHE, ignore_errors=True)
    t = time.perf_counter()
    s = summarise(folder, names)
    print(f"{'first summary' if again else 'summary'}: {time.perf_counter() - t:.1f} s "
          f"({sum(g.replications for g in s.groups)} runs)")
    opens = []
    for _ in range(5):
        t = time.perf_counter()
        s = summarise(folder, names)
        opens.append(time.perf_counter() - t)
    assert s.cached
    print(f"open from the cache: median {statistics.median(opens):.2f} s (min {min(opens):.2f}, max {max(opens):.2f})")
    o = outline(map_of(s.manifest))
    base, other = Pick(s, s.groups[0].label), Pick(s, s.groups[1].label)
    t = time.perf_counter()
    differences(base, [other], 0, False)
    print(f"first paired differences (drawing the resamples, done when the page opens): "
          f"{(time.perf_counter() - t) * 1000:.0f} ms")
    moves = []
    for month in range(0, 61, 5):
        t = time.perf_counter()
        map_svg(o, map_values(other, month, "control", "Resistance (4 groups)"), "control", "x")
        differences(base, [other], month, False)
        moves.append(time.perf_counter() - t)
    print(f"slider move (map + differences, Python): median {statistics.median(moves) * 1000:.0f} ms, "
          f"max {max(moves) * 1000:.0f} ms")


def _appears(page, selector: str, timeout: float) -> None:
    """Wait for ``selector``, checked at every animation frame.

    Playwright's ``wait_for_selector`` polls at growing intervals (up to 500 ms), which would
    be measured as the page's delay.
    """
    page.wait_for_function(f"() => document.querySelector({json.dumps(selector)}) !== null", polling="raf",
                           timeout=timeout)


def _browser(folder: Path) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "dashboard", str(folder), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(600):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
            page = b.new_page(viewport={"width": 1500, "height": 1300})
            t = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            _appears(page, "svg.province-map", 120_000)
            print(f"browser: page to its first map {time.perf_counter() - t:.2f} s")
            _appears(page, "img.fans", 120_000)
            print(f"browser: page to its fan charts {time.perf_counter() - t:.2f} s")
            slider, moves = page.get_by_role("slider").first, []
            for k in range(10):
                slider.focus()
                key, want = ("Home", "0") if k % 2 == 0 else ("End", "60")
                t = time.perf_counter()
                page.keyboard.press(key)
                _appears(page, f"svg.province-map[data-month='{want}']", 30_000)
                moves.append(time.perf_counter() - t)
            print(f"browser: slider to the redrawn map, median {statistics.median(moves) * 1000:.0f} ms "
                  f"(max {max(moves) * 1000:.0f} ms)")
            b.close()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


def main() -> None:
    """Make or reuse the folder, then measure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20000, help="runs in the folder, half per scenario (default 20000)")
    ap.add_argument("--folder", type=Path, default=ROOT / "results" / "dashboard_bench", help="the results folder")
    ap.add_argument("--browser", action="store_true", help="also measure the served page in Chromium")
    ap.add_argument("--keep-cache", action="store_true", help="do not summarise again an already summarised folder")
    args = ap.parse_args()
    _make(args.folder, args.runs)
    _python(args.folder, not args.keep_cache)
    if args.browser:
        _browser(args.folder)


if __name__ == "__main__":
    main()

"""The dashboard's first load in Chromium, for bench_insights: ms from navigation start to the
charts drawn, beside the floor (the same page without data, to its DOMContentLoaded: HTML, CSS
and scripts run), both read from the page's own performance timeline, each in its own browser.

Per round: a new earning, then a cold browser (a new profile) loads the page (and another cold
browser the floor); a new head, and both load again (warm: their HTTP caches and code caches);
nothing changed, and both load once more. `pages` names other page folders (e.g. main's
api/static) measured in the same rounds, alternating, for a before/after on one machine.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.main import serve
from api.routers import pages as pages_router

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The time the page marks itself ready (body[data-ready='1']: every chart drawn), seen by a
# MutationObserver installed before any of the page's scripts: no polling delay of the driver.
WATCH = """
new MutationObserver((_, obs) => {
  if (document.body && document.body.dataset.ready === '1' && window.__drawn === undefined) {
    window.__drawn = performance.now();
    obs.disconnect();
    if (window.__onDrawn) window.__onDrawn(window.__drawn);
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
"""
# Waits without polling (the driver's polling runs in the page, on every frame).
AWAIT_DRAWN = """new Promise((ok) => {
  if (window.__drawn !== undefined) ok(window.__drawn); else window.__onDrawn = ok;
})"""
CASES = ("cold, after a new earning", "warm, after a new head", "warm, nothing changed")
Change = Callable[[], None] | None


@contextmanager
def browser(p: Any) -> Iterator[Any]:
    """A cold Chromium: a new profile (empty HTTP cache and code cache)."""
    with tempfile.TemporaryDirectory() as prof:
        ctx = p.chromium.launch_persistent_context(
            prof,
            executable_path="/usr/bin/chromium",
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        ctx.add_init_script(WATCH)
        try:
            yield ctx
        finally:
            ctx.close()


ASKED = """performance.getEntriesByType('resource')
  .find((e) => e.name.includes('/insights/dashboard')).startTime"""


def drawn(ctx: Any, url: str) -> tuple[float, float]:
    """Navigation start to the charts drawn, and to the data asked for, in ms."""
    page = ctx.new_page()
    page.goto(url, wait_until="commit")
    ms = float(page.evaluate(AWAIT_DRAWN))
    asked = float(page.evaluate(ASKED))
    page.close()
    return ms, asked


def floor(ctx: Any, url: str) -> float:
    """Navigation start to DOMContentLoaded's end of the page without data, in ms."""
    page = ctx.new_page()
    page.goto(url, wait_until="load")
    ms = float(
        page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    )
    page.close()
    return ms


def measure(
    settings: Any,
    app: Any,
    changes: tuple[Callable[[], None], Callable[[], None]],
    hash_: str,
    rounds: int,
    pages: dict[str, Path],
) -> dict[str, dict[str, list[tuple[float, float, float]]]]:
    """Per page folder and case: (charts drawn, floor, data asked for) per round, in ms."""
    from playwright.sync_api import sync_playwright

    stop, ready = threading.Event(), threading.Event()
    thread = serve(settings, stop, app=app, ready=ready)
    ready.wait(20)
    base = f"http://{settings.api_host}:{settings.api_port}"
    out: dict[str, dict[str, list[tuple[float, float, float]]]] = {
        name: {c: [] for c in CASES} for name in pages
    }
    kept = pages_router.STATIC
    try:
        with sync_playwright() as p:
            for _ in range(rounds):
                for name, folder in pages.items():
                    pages_router.STATIC = folder.resolve()
                    with browser(p) as data, browser(p) as bare:
                        for case, change in zip(CASES, (*changes, None), strict=True):
                            if change is not None:
                                change()
                            ms, asked = drawn(data, f"{base}/dashboard#{hash_}")
                            out[name][case].append((ms, floor(bare, f"{base}/dashboard"), asked))
    finally:
        pages_router.STATIC = kept
        stop.set()
        thread.join(10)
    return out


def report(results: dict[str, dict[str, list[tuple[float, float, float]]]], today: str) -> None:
    """One line per page folder and case: the medians (and every round) beside the floor."""
    print("  dashboard first load to charts drawn (Chromium; aim < 600 ms):")
    for name, per in results.items():
        for case, loads in per.items():
            d = statistics.median(x for x, _, _ in loads)
            f = statistics.median(y for _, y, _ in loads)
            asked = statistics.median(z for _, _, z in loads)
            every = ", ".join(f"{x:.0f}" for x, _, _ in loads)
            floors = ", ".join(f"{y:.0f}" for _, y, _ in loads)
            print(
                f"    {name:<8} {case:<27} median {d:6.0f} ms ({every})"
                f" | floor, the page without data: {f:5.0f} ms ({floors})"
                f" | data asked for at {asked:.0f} ms"
            )
    print(f"    today: {today}")

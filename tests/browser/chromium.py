"""System Chromium for the browser tests, started as our own process and driven by Playwright
over CDP, so that teardown is bounded: a close that does not finish within `close_timeout`
(a loaded machine, a wedged renderer) ends with the process group killed, never with an error
that fails an otherwise green run."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
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
VIEWPORT = {"width": 1400, "height": 1000}


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _devtools_port(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    """The port Chromium chose (`--remote-debugging-port=0` writes it to DevToolsActivePort)."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = profile / "chromium.log"
            raise RuntimeError(f"chromium exited with {proc.returncode}; see {log}")
        text = marker.read_text() if marker.exists() else ""
        if text.strip():
            return int(text.split()[0])
        time.sleep(0.05)
    raise RuntimeError(f"chromium did not open its DevTools port within {timeout:.0f} s")


def close_quietly(
    steps: list[Callable[[], Any]], kill: Callable[[], None], timeout: float
) -> list[str]:
    """Run the close `steps` in order; if they are not done within `timeout` seconds, `kill`
    (which makes a pending step fail fast). Nothing raises: the problems are returned."""
    problems: list[str] = []
    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    try:
        for step in steps:
            try:
                step()
            except Exception as exc:  # closing is best effort: the process is killed anyway
                problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        timer.cancel()
    return problems


@dataclass
class Chromium:
    context: Any  # playwright's BrowserContext: `.new_page()`
    process: subprocess.Popen[bytes]


def _launch(profile: Path) -> subprocess.Popen[bytes]:
    with open(profile / "chromium.log", "ab") as log:
        return subprocess.Popen(
            [CHROMIUM, *ARGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"],
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group: the renderers die with it
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait(5)


def _connect(
    pw: Any, profile: Path, attempts: int, timeout: float
) -> tuple[Any, subprocess.Popen[bytes]]:
    """A started Chromium and Playwright's browser on it. A start that stalls (seen on a loaded
    machine: the websocket opens, the CDP handshake never finishes) is retried with a fresh
    process, `attempts` times at most, the n-th bounded by n times `timeout` seconds."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(1, attempts + 1):
        (profile / "DevToolsActivePort").unlink(missing_ok=True)
        proc = _launch(profile)
        try:
            bound = timeout * attempt
            port = _devtools_port(profile, proc, timeout=bound)
            browser = pw.chromium.connect_over_cdp(f"http://127.0.0.1:{port}", timeout=bound * 1000)
            return browser, proc
        except (PlaywrightError, RuntimeError) as exc:
            _kill_group(proc)
            proc.wait(5)
            if attempt == attempts:
                raise
            warnings.warn(f"chromium start {attempt} failed, retrying: {exc!s:.200}", stacklevel=1)
    raise AssertionError("unreachable")


@contextmanager
def chromium_context(
    profile: Path, *, close_timeout: float = 15.0, attempts: int = 3, start_timeout: float = 20.0
) -> Iterator[Chromium]:
    """A Playwright BrowserContext in a Chromium we started (up to `attempts` starts, the n-th
    bounded by n times `start_timeout` seconds); closed within `close_timeout`."""
    from playwright.sync_api import sync_playwright

    profile.mkdir(parents=True, exist_ok=True)
    pw = sync_playwright().start()
    proc: subprocess.Popen[bytes] | None = None
    try:
        browser, proc = _connect(pw, profile, attempts, start_timeout)
        ctx = browser.new_context(viewport=VIEWPORT)
        try:
            yield Chromium(ctx, proc)
        finally:
            problems = close_quietly(
                [ctx.close, browser.close], lambda: _kill_group(proc), close_timeout
            )
            if problems:
                warnings.warn(f"chromium teardown: {'; '.join(problems)}", stacklevel=1)
    finally:
        kill = (lambda: _kill_group(proc)) if proc is not None else (lambda: None)
        close_quietly([pw.stop], kill, close_timeout)
        if proc is not None:
            _stop(proc)

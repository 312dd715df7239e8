"""Backfill progress bar (rich): blocks, events, events/s, ETA."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter:
    """A progress bar over the backfill's block range; a no-op when disabled."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.events = 0
        self.t0 = time.perf_counter()
        self.start = 0

    def __enter__(self) -> Reporter:
        if self.enabled:
            self.progress = Progress(
                TextColumn("[bold]backfill"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("blocks  {task.fields[events]:,} events  {task.fields[rate]:,.0f} ev/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self.progress.start()
        return self

    def set_range(self, start: int, target: int) -> None:
        if self.progress is None:
            return
        if self.task is None:
            self.start = start
            self.task = self.progress.add_task(
                "backfill", total=target - start + 1, events=0, rate=0.0
            )
        else:
            self.progress.update(self.task, total=target - self.start + 1)

    def advance(self, block: int, events: int) -> None:
        self.events += events
        if self.progress is None or self.task is None:
            return
        rate = self.events / max(1e-9, time.perf_counter() - self.t0)
        self.progress.update(
            self.task, completed=block - self.start + 1, events=self.events, rate=rate
        )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

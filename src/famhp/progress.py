"""A plain-text progress bar for long commands (campaign e-mails, imports, demo data)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.started = time.monotonic()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent == self.shown and done < total:
            return  # at most a hundred updates, however long the work
        self.shown = percent
        filled = self.width * done // total if total else self.width
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} ({elapsed:.1f} s)"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

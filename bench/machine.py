"""The machine a benchmark ran on, printed with its figures (issue 15): cores, CPU model, Python, database."""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path
from typing import NamedTuple


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe(database: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"machine: {cores()} cores, {cpu_model()}; Python {platform.python_version()}; database: {database}; "
        f"load average {load}"
    )


class Clock(NamedTuple):
    """Wall time and CPU time (user + system, this process and its finished children)."""

    wall: float
    cpu: float

    @classmethod
    def now(cls) -> Clock:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        return cls(time.perf_counter(), cpu)

    def since(self) -> Clock:
        now = Clock.now()
        return Clock(now.wall - self.wall, now.cpu - self.cpu)

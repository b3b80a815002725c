"""Timing helpers: repeated runs after a warm-up, reported as median, min and max."""

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Sample":
        return cls(statistics.median(values), min(values), max(values), len(values))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def repeat(action: Callable[[], float], *, runs: int, warmup: int = 1) -> Sample:
    """`action` returns the figure of one run; the warm-up runs are not counted."""
    for _ in range(warmup):
        action()
    return Sample.of([action() for _ in range(runs)])


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    peak_rss_mb: float  # the largest resident set of the process or any process it waited for


def run_process(command: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> ProcessRun:
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            said = output.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {said}")
    return ProcessRun(seconds, usage.ru_maxrss / 1024)

"""`local serve` as `make serve` runs it: a process of its own, and the lines it prints."""

import subprocess
import sys
import time

from pausable_sfn import PROJECT_ROOT


def serve_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "pausable_sfn", "local", "serve", *arguments]


def start_serving(command: list[str], environment: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    """Starts `local serve` and reads its lines until it says how to stop it (or ends)."""
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a terminal of its own: os.killpg(process.pid, …) is a Ctrl-C there
    )
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line.rstrip("\n"))
        if "stops it" in line or not line:
            break
    return process, lines


def printed(lines: list[str], prefix: str) -> str:
    """What the server printed after `prefix`, on the one line that starts with it."""
    [value] = [line.strip().removeprefix(prefix) for line in lines if line.strip().startswith(prefix)]
    return value

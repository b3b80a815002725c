"""Polling an execution in a demo or a test: its status at each poll, whether it is paused, and the
token of the task it waits at (read from its history as this project's PausableTask puts it there).

Real time, for any endpoint (AWS, `local serve`, an embedded AWS in process); to let the embedded
AWS's clock skip to its next timer while waiting, use `waiting.wait_until` with the clock instead.
"""

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from ..ops.history import TERMINAL, read_history, recent_events, waiting_task


def waiting_task_token(events: list[dict[str, Any]], state: str | None = None) -> str | None:
    """The token of the task that waits now (in `state`, when given), read at Payload.taskToken,
    where PausableTask puts it; None when no task waits there."""
    task = waiting_task(events)
    return task.token if task is not None and state in (None, task.state) else None


class Snapshot:
    """An execution's status at one poll; its history is read only when asked for."""

    def __init__(self, sfn: Any, execution_arn: str, status: str) -> None:
        self._sfn = sfn
        self.execution_arn = execution_arn
        self.status = status

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        """The whole history, oldest first."""
        return read_history(self._sfn, self.execution_arn)

    @cached_property
    def recent(self) -> list[dict[str, Any]]:
        return recent_events(self._sfn, self.execution_arn)

    @property
    def paused(self) -> bool:
        """Running, with its task handed to the external service and not yet called back."""
        task_events = [event["type"] for event in self.recent if event["type"].startswith("Task")]
        return self.status == "RUNNING" and bool(task_events) and task_events[-1] == "TaskSubmitted"

    @property
    def task_token(self) -> str | None:
        return waiting_task_token(self.recent)


def wait_for(
    sfn: Any,
    execution_arn: str,
    until: Callable[[Snapshot], bool],
    *,
    timeout: float,
    on_poll: Callable[[Snapshot], None] | None = None,
    interval: float = 0.05,
) -> Snapshot:
    """Polls the execution until `until` holds (or it has ended), for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        snapshot = Snapshot(sfn, execution_arn, status)
        if on_poll is not None:
            on_poll(snapshot)
        if until(snapshot) or status in TERMINAL:
            return snapshot
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} is still {status} after {timeout:.0f} s")
        time.sleep(interval)

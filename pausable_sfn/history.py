"""Reading an execution's history: a timeline for people, and the task token of a paused task.

The token is read from the `TaskScheduled` event of the waiting task: Step Functions puts it in
the parameters it sends to the task. It is returned to the caller, never printed by the timeline.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import LONG_JOB_STATE

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
_TASK_ENDS = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskSubmitFailed", "TaskStartFailed"}


@dataclass(frozen=True)
class TimelineEntry:
    elapsed_ms: int
    state: str
    event: str
    detail: str


def read_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, includeExecutionData=True)
    return [event for page in pages for event in page["events"]]


def timeline(events: list[dict[str, Any]]) -> list[TimelineEntry]:
    if not events:
        return []
    start = events[0]["timestamp"]
    state = ""
    entries = []
    for event in events:
        details = _details(event)
        if "name" in details:
            state = details["name"]
        entries.append(
            TimelineEntry(
                elapsed_ms=round((event["timestamp"] - start).total_seconds() * 1000),
                state=state if event["type"] not in ("ExecutionStarted",) else "",
                event=event["type"],
                detail=_describe(event["type"], details),
            )
        )
    return entries


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def _describe(event_type: str, details: dict[str, Any]) -> str:
    if "error" in details or "cause" in details:
        return f"{details.get('error', '')}: {details.get('cause', '')}".strip(": ")
    if event_type == "TaskScheduled":
        return "task token handed to the task"
    if event_type == "TaskSubmitted":
        return "paused: waiting for the callback"
    return ""


def waiting_task_token(events: list[dict[str, Any]], state: str = LONG_JOB_STATE) -> str | None:
    """The token of the task that waits now in `state`, or None. The token of an attempt that
    has ended (timed out, failed, succeeded) is never returned."""
    current_state: str | None = None
    token: str | None = None
    for event in events:
        kind = event["type"]
        if kind == "TaskStateEntered":
            current_state = _details(event).get("name")
        elif kind == "TaskScheduled" and current_state == state:
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            token = parameters.get("Payload", {}).get("taskToken")
        elif kind in _TASK_ENDS or kind == "TaskStateExited":
            token = None
    return token


class Snapshot:
    """An execution's status at one poll; its history is read only when asked for."""

    RECENT = 8  # enough newest events to hold the waiting task's TaskStateEntered and TaskScheduled

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
        """The newest events, oldest first: one short call, whatever the history's length."""
        page = self._sfn.get_execution_history(
            executionArn=self.execution_arn, reverseOrder=True, maxResults=self.RECENT, includeExecutionData=True
        )
        return list(reversed(page["events"]))

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

"""Reading an execution's history: a timeline for people, and the task token of a paused task.

The token is read from the `TaskScheduled` event of the waiting task: Step Functions puts it in
the parameters it sends to the task. It is returned to the caller, never printed by the timeline.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from ..contracts import LONG_JOB_STATE

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


@dataclass(frozen=True)
class WaitingTask:
    state: str
    token: str
    manual: bool | None
    scheduled_at: datetime


def waiting_task(events: list[dict[str, Any]]) -> WaitingTask | None:
    """The task that waits for a callback now, from events oldest first, or None. The token of an
    attempt that has ended (timed out, failed, succeeded, retried) is never returned."""
    current_state = ""
    task: WaitingTask | None = None
    for event in events:
        kind = event["type"]
        if kind == "TaskStateEntered":
            current_state = _details(event).get("name", "")
        elif kind == "TaskScheduled":
            payload = json.loads(event["taskScheduledEventDetails"]["parameters"]).get("Payload")
            token = payload.get("taskToken") if isinstance(payload, dict) else None
            manual = payload.get("isManualCallback") if isinstance(payload, dict) else None
            task = WaitingTask(current_state, token, manual, event["timestamp"]) if token else None
        elif kind in _TASK_ENDS or kind == "TaskStateExited" or kind.startswith("Execution"):
            task = None
    return task


def waiting_task_token(events: list[dict[str, Any]], state: str = LONG_JOB_STATE) -> str | None:
    """The token of the task that waits now in `state`, or None."""
    task = waiting_task(events)
    return task.token if task is not None and task.state == state else None


def recent_events(sfn: Any, execution_arn: str, page_size: int = 8) -> list[dict[str, Any]]:
    """The newest events, oldest first, back to the entry of the state the execution is in:
    usually one short call, however long the history (a retried task adds pages, not errors)."""
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn,
        reverseOrder=True,
        includeExecutionData=True,
        PaginationConfig={"PageSize": page_size},
    )
    newest: list[dict[str, Any]] = []
    for page in pages:
        for event in page["events"]:
            newest.append(event)
            if event["type"].endswith("StateEntered") or event["type"] == "ExecutionStarted":
                return list(reversed(newest))
    return list(reversed(newest))


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

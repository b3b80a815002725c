"""Reading an execution's history: a timeline for people, and the task that waits for a callback.

The waiting task is the live attempt of a task whose resource ends with `.waitForTaskToken`; its
`TaskScheduled` event holds the parameters Step Functions sent to it, the token among them (where
exactly, the state machine's definition says: see tokens.py). The token is returned to the
caller, never printed by the timeline.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .tokens import LAMBDA_PAYLOAD, WAIT_FOR_TASK_TOKEN, Path, read_token

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
        details = event_details(event)
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


@dataclass
class StateVisit:
    """One state's run in an execution: what it was given and, once it left, what it passed on."""

    name: str
    kind: str  # the event's prefix: Task, Pass, Choice, Fail, Map, ...
    entered_at: datetime
    input: str
    exited_at: datetime | None = None
    output: str | None = None
    # The variables the state assigned as it exited, each value as JSON text: {"total": "5"}.
    assigned: dict[str, str] | None = None


def state_visits(events: list[dict[str, Any]]) -> list[StateVisit]:
    """Every state entered, in order; a state entered again (a retry loop, a Map's items) is a
    visit of its own. An exit closes the visit its chain of `previousEventId`s leads back to, so
    that the iterations of a Map or the branches of a Parallel, whose events interleave, each keep
    their own input and output; without that chain, the newest open visit of its name."""
    visits: list[StateVisit] = []
    by_entry: dict[int, StateVisit] = {}
    by_id = {event["id"]: event for event in events if "id" in event}
    for event in events:
        kind, details = event["type"], event_details(event)
        if kind.endswith("StateEntered"):
            visit = StateVisit(
                details.get("name", ""),
                kind.removesuffix("StateEntered"),
                event["timestamp"],
                str(details.get("input", "")),
            )
            visits.append(visit)
            if "id" in event:
                by_entry[event["id"]] = visit
        elif kind.endswith("StateExited"):
            name = details.get("name")
            closed = by_entry.get(_entry_of(event, name, by_id) or -1) or next(
                (v for v in reversed(visits) if v.name == name and v.exited_at is None), None
            )
            if closed is not None:
                closed.exited_at, closed.output = event["timestamp"], str(details.get("output", ""))
                assigned = details.get("assignedVariables")
                closed.assigned = dict(assigned) if isinstance(assigned, dict) and assigned else None
    return visits


def _entry_of(exit_event: dict[str, Any], name: Any, by_id: dict[int, dict[str, Any]]) -> int | None:
    """The id of the StateEntered event an exit belongs to, walking back its previousEventId chain."""
    seen: set[int] = set()
    current = by_id.get(exit_event.get("previousEventId", -1))
    while current is not None and current["id"] not in seen:
        if current["type"].endswith("StateEntered") and event_details(current).get("name") == name:
            return int(current["id"])
        seen.add(current["id"])
        current = by_id.get(current.get("previousEventId", -1))
    return None


def event_details(event: dict[str, Any]) -> dict[str, Any]:
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
class ScheduledTask:
    """The live attempt of a task that waits for its callback, as its TaskScheduled event tells it."""

    state: str
    resource: str  # as in the definition, less its prefix: "sqs:sendMessage.waitForTaskToken"
    parameters: str = field(repr=False)  # the resolved parameters, as JSON: the token is in them
    scheduled_at: datetime
    # Handed off (TaskSubmitted): the receiver has the token. Until then the attempt may still fail
    # and be retried, a moment in which no task waits.
    submitted: bool = False
    # What a task that waits on a correlation key was told at its hand-off: True if it took the key,
    # False if it waited in the key's line (it may hold the key since: a promotion writes no event);
    # None for any other task.
    registered: bool | None = None
    # For a task put in line: the execution whose task held the key then (its ARN).
    behind: str | None = None


@dataclass(frozen=True)
class WaitingTask:
    state: str
    token: str = field(repr=False)
    manual: bool | None
    scheduled_at: datetime
    key: str | None = None  # the correlation key it waits on, if any


def scheduled_task(events: list[dict[str, Any]]) -> ScheduledTask | None:
    """The task that waits for a callback now, from events oldest first, or None: the attempt of a
    `.waitForTaskToken` task that has not ended (timed out, failed, succeeded, been retried).
    One task at a time: a task in a Parallel branch or a Map iteration is found when it is the only
    one waiting; tasks waiting side by side (parallel branches, concurrent iterations) are not
    told apart, as the events of their branches interleave."""
    current_state = ""
    task: ScheduledTask | None = None
    for event in events:
        kind = event["type"]
        if kind == "TaskStateEntered":
            current_state = event_details(event).get("name", "")
        elif kind == "TaskScheduled":
            details = event["taskScheduledEventDetails"]
            resource = str(details.get("resource", ""))
            task = (
                ScheduledTask(
                    current_state,
                    f"{details.get('resourceType', '')}:{resource}",
                    str(details.get("parameters", "")),
                    event["timestamp"],
                )
                if resource.endswith(WAIT_FOR_TASK_TOKEN)
                else None
            )
        elif kind == "TaskSubmitted" and task is not None:
            task = replace(task, submitted=True, **_hand_off(event))
        elif kind in _TASK_ENDS or kind == "TaskStateExited" or kind.startswith("Execution"):
            task = None
    return task


def _hand_off(submitted: dict[str, Any]) -> dict[str, Any]:
    """The `registered` and `behind` of a keyed task's hand-off (its registrar's answer, the Payload
    of the Lambda invoke's output); None for what the output does not say as such an answer does."""
    try:
        output = json.loads(submitted.get("taskSubmittedEventDetails", {}).get("output") or "null")
    except (TypeError, ValueError):
        output = None
    answer = output.get("Payload", output) if isinstance(output, dict) else None
    answer = answer if isinstance(answer, dict) else {}
    registered, behind = answer.get("registered"), answer.get("behind")
    return {
        "registered": registered if isinstance(registered, bool) else None,
        "behind": behind if isinstance(behind, str) and registered is False else None,
    }


def waiting_task(
    events: list[dict[str, Any]], paths: Sequence[Path] = LAMBDA_PAYLOAD, *, manual_flag: str | None = None
) -> WaitingTask | None:
    """The task that waits now with its token, read at `paths` of its parameters (by default where
    PausableTask puts it: Payload.taskToken), or None; `manual_flag`: the field beside the token that
    says a person holds it. The token of an attempt that has ended is never returned. For any state
    machine, Operations reads the paths from its definition."""
    task = scheduled_task(events)
    found = read_token(task.parameters, paths, manual_flag) if task is not None else None
    if task is None or found is None:
        return None
    return WaitingTask(task.state, found.token, found.manual, task.scheduled_at, found.key)


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

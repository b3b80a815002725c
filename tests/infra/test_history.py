"""Reading a history: the live task token, newest events first, across a retried task."""

from datetime import UTC, datetime

from pausable_sfn.app.names import MANUAL_FLAG
from pausable_sfn.ops.history import recent_events, waiting_task
from pausable_sfn.testing.polling import waiting_task_token

AT = datetime(2026, 11, 25, tzinfo=UTC)


def event(number: int, kind: str, **details) -> dict:
    body = {"id": number, "type": kind, "timestamp": AT}
    if kind == "TaskStateEntered":
        body["stateEnteredEventDetails"] = {"name": details["name"]}
    if kind == "TaskScheduled":
        body["taskScheduledEventDetails"] = {
            "resourceType": "lambda",
            "resource": "invoke.waitForTaskToken",
            "parameters": f'{{"Payload": {{"taskToken": "{details["token"]}", "isManualCallback": true}}}}',
        }
    return body


RETRIED = [
    event(1, "ExecutionStarted"),
    event(2, "TaskStateEntered", name="Long job execution"),
    event(3, "TaskScheduled", token="first"),
    event(4, "TaskStarted"),
    event(5, "TaskFailed"),  # Lambda.ServiceException: the task is retried with a new token
    event(6, "TaskScheduled", token="second"),
    event(7, "TaskStarted"),
    event(8, "TaskSubmitted"),
]


class FakeSfn:
    """get_execution_history, newest first, in pages of the size asked for."""

    def __init__(self, events: list[dict]) -> None:
        self.events = events
        self.pages_read = 0

    def get_paginator(self, operation: str):
        assert operation == "get_execution_history"
        return self

    def paginate(self, *, executionArn, reverseOrder, includeExecutionData, PaginationConfig):  # noqa: N803
        newest = list(reversed(self.events)) if reverseOrder else list(self.events)
        size = PaginationConfig["PageSize"]
        for start in range(0, len(newest), size):
            self.pages_read += 1
            yield {"events": newest[start : start + size]}


def test_the_live_token_is_the_latest_attempts():
    task = waiting_task(RETRIED, manual_flag=MANUAL_FLAG)

    assert task is not None
    assert (task.state, task.token, task.manual) == ("Long job execution", "second", True)


def test_an_ended_attempt_has_no_live_token():
    assert waiting_task(RETRIED[:5]) is None
    assert waiting_task_token([*RETRIED, event(9, "TaskSucceeded")]) is None


def test_newest_events_are_read_back_to_the_states_entry_even_past_a_page():
    sfn = FakeSfn(RETRIED)

    recent = recent_events(sfn, "arn", page_size=3)

    assert [e["id"] for e in recent] == [2, 3, 4, 5, 6, 7, 8]
    assert sfn.pages_read == 3
    assert waiting_task_token(recent) == "second"

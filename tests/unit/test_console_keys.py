"""The console shows the correlation key a paused task waits on (the business id a service calls back
with), in the executions list and on the execution's page; never the token beside it. The console
runs as the WSGI app it is, over stubbed AWS clients (botocore's Stubber): each call a page makes
must be one the test queued."""

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import Client

from pausable_sfn.console import pages
from pausable_sfn.console.app import PAGE_SIZE, ConsoleApp
from pausable_sfn.contracts import fingerprint
from pausable_sfn.ops.graph import WAITING, StateRun

from .conftest import STATE_MACHINE, TOKEN
from .console_harness import MOUNT
from .test_cli_by_key import DEFINITION, JOB, NOW, execution_arn, running_execution, waiting_at


@pytest.fixture
def console(aws) -> Client:
    return Client(ConsoleApp(lambda service: aws(service).client))


def queue_listing(aws, *waiting: tuple[Any, ...]) -> None:
    """One state machine whose running executions (name, key, and for a task of a key's line whether
    it took the key at its hand-off and the name of the execution it was put behind) each wait at the
    long job, newest first."""
    sfn = aws("stepfunctions")
    sfn.add_response("list_state_machines", {"stateMachines": [machine()]})
    executions = [
        running_execution(execution_arn(name), STATE_MACHINE, name, NOW - timedelta(minutes=number))
        for number, (name, *_) in enumerate(waiting)
    ]
    sfn.add_response(
        "list_executions", {"executions": executions}, {"stateMachineArn": STATE_MACHINE, "maxResults": PAGE_SIZE}
    )
    for number, (_, key, *hand_off) in enumerate(waiting):
        registered, behind = [*hand_off, None, None][:2]
        events = waiting_at(JOB, key, TOKEN, manual=key is None, registered=registered, behind=behind)
        sfn.add_response("get_execution_history", {"events": events})
        if number == 0:  # the definition, once a page, for every execution of the state machine
            sfn.add_response("describe_state_machine", described(), {"stateMachineArn": STATE_MACHINE})


def machine() -> dict[str, Any]:
    return {"stateMachineArn": STATE_MACHINE, "name": "PausableStepFunction", "type": "STANDARD", "creationDate": NOW}


def described() -> dict[str, Any]:
    return {**machine(), "status": "ACTIVE", "definition": DEFINITION, "roleArn": "arn:aws:iam::123456789012:role/x"}


def test_the_list_shows_the_key_each_paused_execution_waits_on_reading_the_definition_once(aws, console):
    # GIVEN two executions paused on a key, and one paused by token only
    queue_listing(aws, ("job-1", "order-42"), ("job-2", 42), ("job-3", None))

    # WHEN the list is shown
    answer = console.get(MOUNT)

    # THEN each says where it waits and, where it has one, on which key; no token is on the page
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, html
    assert "paused at Long job execution on key order-42</td>" in html
    assert "paused at Long job execution on key 42</td>" in html
    assert "paused at Long job execution</td>" in html
    assert TOKEN[:40] not in html
    aws("stepfunctions").assert_no_pending_responses()


def queue_execution_page(aws, name: str, *, registered: bool | None = None, behind: str | None = None) -> str:
    """An execution paused at its long job on key order-42 (with its hand-off, as in waiting_at), as
    its page reads it; its ARN."""
    arn = execution_arn(name)
    sfn = aws("stepfunctions")
    description = {"executionArn": arn, "stateMachineArn": STATE_MACHINE, "status": "RUNNING", "startDate": NOW}
    sfn.add_response("describe_execution", {**description, "name": name, "input": "{}"})
    definition = {key: described()[key] for key in ("stateMachineArn", "name", "definition", "roleArn")}
    sfn.add_response("describe_state_machine_for_execution", {**definition, "updateDate": NOW})
    started = {"id": 1, "type": "ExecutionStarted", "timestamp": NOW, "executionStartedEventDetails": {"input": "{}"}}
    waiting = waiting_at(JOB, "order-42", TOKEN, manual=False, registered=registered, behind=behind)
    sfn.add_response("get_execution_history", {"events": [started, *reversed(waiting)]})
    return arn


def test_an_execution_s_page_says_which_key_its_task_waits_on_and_never_shows_the_token(aws, console):
    # GIVEN an execution paused at its long job on key order-42
    arn = queue_execution_page(aws, "job-1")

    # WHEN its page is shown
    answer = console.get(f"{MOUNT}execution?arn={quote(arn, safe='')}")

    # THEN it names the key beside where it waits, and the token only by its fingerprint
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, html
    assert "<th>Waits on key</th><td>order-42</td>" in html
    assert TOKEN[:40] not in html
    assert fingerprint(TOKEN) in html


def test_a_task_that_waits_by_token_only_has_no_key_on_its_page():
    run = StateRun(WAITING, NOW, None)
    html = pages.execution_page(
        {"name": "job-2", "status": "RUNNING", "startDate": NOW, "stateMachineArn": STATE_MACHINE},
        "<svg></svg>",
        [],
        visits=[],
        waiting=(JOB, run),
        masked=[],
        now=NOW,
        address="execution?arn=x",
        key=None,
    )

    assert "<th>Paused at</th>" in html
    assert "Waits on key" not in html


def test_a_key_is_escaped_as_everything_from_aws_is():
    hostile = '<script>alert("x")</script>'
    row = {"executionArn": execution_arn("job-1"), "name": "job-1", "stateMachineArn": STATE_MACHINE}
    row |= {"status": "RUNNING", "startDate": NOW, "waitsAt": JOB, "waitsOnKey": hostile}

    html = pages.executions_page(
        [row], machines=[STATE_MACHINE], status=None, chosen=None, first=1, older=None, now=NOW
    )

    assert "<script>" not in html
    assert "on key &lt;script&gt;" in html


# Orders with one id at a step that queues on a key in use: job-1 took the key, the others were put
# in line behind it (their hand-offs said so).
HOLDER, IN_LINE, ALSO_IN_LINE = (
    ("job-1", "order-42", True),
    ("job-5", "order-42", False, "job-1"),
    ("job-6", "order-42", False, "job-1"),
)


def test_the_list_marks_the_tasks_in_a_key_s_line_reading_each_history_once(aws, console):
    # GIVEN two tasks in line behind job-1, which still waits; all three on one page
    queue_listing(aws, IN_LINE, ALSO_IN_LINE, HOLDER)

    # WHEN the list is shown
    html = console.get(MOUNT).get_data(as_text=True)

    # THEN the two are marked in line and the holder is not; the holder's history was read once
    assert html.count("paused at Long job execution on key order-42 (in line)</td>") == 2
    assert "paused at Long job execution on key order-42</td>" in html
    aws("stepfunctions").assert_no_pending_responses()


def test_a_task_whose_holder_waits_no_more_is_shown_as_having_been_in_line(aws, console):
    # GIVEN a task put in line behind job-1, which is not on the page and no longer waits
    queue_listing(aws, IN_LINE)
    aws("stepfunctions").add_response(
        "get_execution_history",
        {"events": [{"id": 9, "type": "ExecutionSucceeded", "timestamp": NOW, "executionSucceededEventDetails": {}}]},
        {"executionArn": execution_arn("job-1"), "reverseOrder": True, "includeExecutionData": True, "maxResults": 8},
    )

    # WHEN the list is shown
    html = console.get(MOUNT).get_data(as_text=True)

    # THEN the line has moved on since, which no history says: it may hold the key now
    assert "on key order-42 (was in line: may hold the key now)</td>" in html
    aws("stepfunctions").assert_no_pending_responses()


def test_an_execution_s_page_names_the_execution_its_task_waits_behind(aws, console):
    # GIVEN job-5, put in line behind job-1, which still waits at the long job
    arn = queue_execution_page(aws, "job-5", registered=False, behind="job-1")
    aws("stepfunctions").add_response(
        "get_execution_history",
        {"events": waiting_at(JOB, "order-42", TOKEN, manual=False, registered=True)},
        {"executionArn": execution_arn("job-1"), "reverseOrder": True, "includeExecutionData": True, "maxResults": 8},
    )

    # WHEN its page is shown
    html = console.get(f"{MOUNT}execution?arn={quote(arn, safe='')}").get_data(as_text=True)

    # THEN it says the task waits in the key's line, and behind which execution
    assert "<th>Waits on key</th><td>order-42 (in line)</td>" in html
    assert "<th>In line behind</th><td>job-1</td>" in html
    aws("stepfunctions").assert_no_pending_responses()


def test_an_execution_s_page_with_a_holder_that_is_gone_does_not_say_in_line(aws, console):
    # GIVEN job-5, put in line behind an execution that no longer exists
    arn = queue_execution_page(aws, "job-5", registered=False, behind="job-1")
    aws("stepfunctions").add_client_error(
        "get_execution_history", "ExecutionDoesNotExist", "Execution Does Not Exist: job-1"
    )

    # WHEN its page is shown
    html = console.get(f"{MOUNT}execution?arn={quote(arn, safe='')}").get_data(as_text=True)

    # THEN it may hold the key now; no holder is named
    assert "<th>Waits on key</th><td>order-42 (was in line: may hold the key now)</td>" in html
    assert "In line behind" not in html

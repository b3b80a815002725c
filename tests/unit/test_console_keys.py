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


def queue_listing(aws, *waiting: tuple[str, Any]) -> None:
    """One state machine whose running executions (name, key) each wait at the long job, newest first."""
    sfn = aws("stepfunctions")
    sfn.add_response("list_state_machines", {"stateMachines": [machine()]})
    executions = [
        running_execution(execution_arn(name), STATE_MACHINE, name, NOW - timedelta(minutes=number))
        for number, (name, _) in enumerate(waiting)
    ]
    sfn.add_response(
        "list_executions", {"executions": executions}, {"stateMachineArn": STATE_MACHINE, "maxResults": PAGE_SIZE}
    )
    for number, (_, key) in enumerate(waiting):
        sfn.add_response("get_execution_history", {"events": waiting_at(JOB, key, TOKEN, manual=key is None)})
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


def test_an_execution_s_page_says_which_key_its_task_waits_on_and_never_shows_the_token(aws, console):
    # GIVEN an execution paused at its long job on key order-42
    arn = execution_arn("job-1")
    sfn = aws("stepfunctions")
    description = {"executionArn": arn, "stateMachineArn": STATE_MACHINE, "status": "RUNNING", "startDate": NOW}
    sfn.add_response("describe_execution", {**description, "name": "job-1", "input": "{}"})
    definition = {key: described()[key] for key in ("stateMachineArn", "name", "definition", "roleArn")}
    sfn.add_response("describe_state_machine_for_execution", {**definition, "updateDate": NOW})
    started = {"id": 1, "type": "ExecutionStarted", "timestamp": NOW, "executionStartedEventDetails": {"input": "{}"}}
    sfn.add_response(
        "get_execution_history", {"events": [started, *reversed(waiting_at(JOB, "order-42", TOKEN, manual=False))]}
    )

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

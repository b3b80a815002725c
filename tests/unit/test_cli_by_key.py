"""The operator commands for tasks that wait on a correlation key (a business id): `paused` shows each
task's key, and `resume`, `fail` and `heartbeat --key KEY` find the one task that waits on it and
send with its token, which they never print; `resume --key --via-lambda` sends the key itself to the
resume function, and reads no token at all. AWS is stubbed (botocore's Stubber): each call a command
makes must be one the test queued."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pausable_sfn.contracts import MAX_CORRELATION_KEY_LENGTH, NO_TASK_WAITS_ON_KEY, fingerprint
from pausable_sfn.ops.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE

from .conftest import STATE_MACHINE, TOKEN
from .test_cli_state_machine import (
    one_at_a_time,  # noqa: F401 (a fixture: histories read in the order queued)
    running_execution,
    task_waiting_events,
)

pytestmark = pytest.mark.usefixtures("one_at_a_time")

NOW = datetime.now(UTC)
OTHER_TOKEN = "BQCEAAAAKgAAAAMAAAAAAAAAA" + "y" * 600
REGISTRAR = "arn:aws:lambda:us-east-1:123456789012:function:RegisterCorrelationKey"
JOB, SHIP = "Long job execution", "Ship"


def keyed_task(next_state: dict[str, Any]) -> dict[str, Any]:
    """A task that waits on the job's id: it invokes the channel's registrar, as PausableTask does."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": REGISTRAR,
            "Payload": {
                "taskToken.$": "$$.Task.Token",
                "executionId.$": "$$.Execution.Id",
                "correlationKey.$": "$.jobId",
                "payload": {"isManualCallback.$": "$.isManualCallback"},
            },
        },
        **next_state,
    }


DEFINITION = json.dumps({"StartAt": JOB, "States": {JOB: keyed_task({"Next": SHIP}), SHIP: keyed_task({"End": True})}})


def execution_arn(name: str) -> str:
    return f"{STATE_MACHINE.replace(':stateMachine:', ':execution:')}:{name}"


def waiting_at(
    state: str, key: Any, token: str, *, manual: bool, registered: bool | None = None, behind: str | None = None
) -> list[dict[str, Any]]:
    """The newest events of an execution whose task waits in `state` on `key`, newest first, as
    GetExecutionHistory gives them with reverseOrder; with `registered`, its hand-off says whether
    the task took the key (True) or waited in the key's line (False) behind the execution named
    `behind`, as the registrar answers."""
    parameters = {
        "FunctionName": REGISTRAR,
        "Payload": {
            "taskToken": token,
            "executionId": "arn:aws:states:us-east-1:123456789012:execution:PausableStepFunction:x",
            "correlationKey": key,
            "stateMachine": STATE_MACHINE,
            "state": state,
            "payload": {"isManualCallback": manual, "jobDurationSeconds": 900},
        },
    }
    events = task_waiting_events(state, "lambda", "invoke.waitForTaskToken", parameters, NOW)
    if registered is not None:
        answer = {
            "correlationKey": key,
            "registered": registered,
            **({} if registered else {"inLine": True, "behind": behind and execution_arn(behind)}),
        }
        details = {
            **events[0]["taskSubmittedEventDetails"],
            "output": json.dumps({"Payload": answer, "StatusCode": 200}),
        }
        events[0] = {**events[0], "taskSubmittedEventDetails": details}
    return events


def queue_paused(aws, *waiting: tuple[Any, ...]) -> None:
    """ListExecutions naming these executions (name, state, key, token, manual, and, for a task of a
    key's line, whether it took the key at its hand-off and, if not, the name of the execution it was
    put behind), the state machine's definition (read once), and each one's newest events."""
    executions = [
        running_execution(execution_arn(name), STATE_MACHINE, name, NOW - timedelta(minutes=5)) for name, *_ in waiting
    ]
    sfn = aws("stepfunctions")
    sfn.add_response(
        "list_executions",
        {"executions": executions},
        {"stateMachineArn": STATE_MACHINE, "statusFilter": "RUNNING", "maxResults": 1000},
    )
    for number, (name, state, key, token, manual, *hand_off) in enumerate(waiting):
        registered, behind = [*hand_off, None, None][:2]
        sfn.add_response(
            "get_execution_history",
            {"events": waiting_at(state, key, token, manual=manual, registered=registered, behind=behind)},
            {"executionArn": execution_arn(name), "reverseOrder": True, "includeExecutionData": True, "maxResults": 8},
        )
        if number == 0:
            sfn.add_response(
                "describe_state_machine",
                {
                    "stateMachineArn": STATE_MACHINE,
                    "name": "PausableStepFunction",
                    "status": "ACTIVE",
                    "definition": DEFINITION,
                    "roleArn": "arn:aws:iam::123456789012:role/jobs",
                    "type": "STANDARD",
                    "creationDate": NOW,
                },
                {"stateMachineArn": STATE_MACHINE},
            )


# An automatic execution waits on its job's id; a manual one by token only (its key is null).
AUTOMATIC = ("job-1", JOB, "order-42", TOKEN, False)
MANUAL = ("job-2", JOB, None, OTHER_TOKEN, True)


def test_paused_lists_each_task_s_key_and_the_mode_its_own_fields_say(aws, cli):
    # GIVEN an automatic execution waiting on a key and a manual one waiting by token
    aws.stack()
    queue_paused(aws, AUTOMATIC, MANUAL)

    # WHEN they are listed for a script
    code, out, err = cli("paused", "--json")

    # THEN each row has its key (null: none) and its mode, read from the task's own fields
    assert (code, err) == (EXIT_OK, "")
    rows = {row["name"]: row for row in json.loads(out)}
    assert {name: (row["correlationKey"], row["mode"]) for name, row in rows.items()} == {
        "job-1": ("order-42", "automatic"),
        "job-2": (None, "manual"),
    }
    assert TOKEN not in out


def test_paused_shows_a_key_column_with_a_dash_where_there_is_none(aws, cli):
    aws.stack()
    queue_paused(aws, AUTOMATIC, MANUAL)

    code, out, _ = cli("paused")

    assert code == EXIT_OK
    header, *rows = out.splitlines()[1:]
    assert header.split()[-3:] == ["KEY", "TASK", "TOKEN"]
    assert [row.split()[-3:] for row in rows] == [
        ["automatic", "order-42", fingerprint(TOKEN)],
        ["manual", "-", fingerprint(OTHER_TOKEN)],
    ]


@pytest.mark.parametrize(
    ("command", "call", "arguments", "said"),
    [
        (("resume", "--output", '{"ok": true}'), "send_task_success", {"output": '{"ok": true}'}, "resumed"),
        (
            ("fail", "--error", "Rejected", "--cause", "no"),
            "send_task_failure",
            {"error": "Rejected", "cause": "no"},
            "failed",
        ),
        (("heartbeat",), "send_task_heartbeat", {}, "heartbeat sent for"),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else None,
)
def test_a_command_by_key_sends_with_the_token_of_the_task_that_waits_on_it(aws, cli, command, call, arguments, said):
    # GIVEN two paused executions, one of them waiting on key order-42
    aws.stack()
    queue_paused(aws, MANUAL, AUTOMATIC)
    aws("stepfunctions").add_response(call, {}, {"taskToken": TOKEN, **arguments})

    # WHEN a command names the task by its key
    code, out, err = cli(command[0], "--key", "order-42", *command[1:])

    # THEN that task's token was sent, and the output names the key and the execution, not the token
    assert (code, err) == (EXIT_OK, "")
    assert out == f"{said} job-1 (waiting on key 'order-42'){': Rejected' if command[0] == 'fail' else ''}\n"
    aws("stepfunctions").assert_no_pending_responses()


def test_json_output_names_the_key_and_the_execution_found(aws, cli):
    aws.stack()
    queue_paused(aws, AUTOMATIC)
    aws("stepfunctions").add_response("send_task_heartbeat", {}, {"taskToken": TOKEN})

    code, out, _ = cli("heartbeat", "--key", "order-42", "--json")

    assert code == EXIT_OK
    assert json.loads(out) == {
        "heartbeat": "job-1 (waiting on key 'order-42')",
        "correlationKey": "order-42",
        "executionArn": execution_arn("job-1"),
    }


def test_a_key_that_is_a_number_is_named_by_its_json_text(aws, cli):
    # GIVEN a task whose key is the number 42: the registry compares it as "42"
    aws.stack()
    queue_paused(aws, ("job-3", JOB, 42, TOKEN, False))
    aws("stepfunctions").add_response("send_task_success", {}, {"taskToken": TOKEN, "output": '{"resumed": true}'})

    code, _, err = cli("resume", "--key", "42")

    assert (code, err) == (EXIT_OK, "")
    aws("stepfunctions").assert_no_pending_responses()


def test_a_key_no_paused_task_waits_on_is_one_line_and_nothing_is_sent(aws, cli):
    aws.stack()
    queue_paused(aws, AUTOMATIC, MANUAL)

    code, out, err = cli("resume", "--key", "order-99")

    assert (code, out) == (EXIT_FAILED, "")
    assert err == f"pausable-sfn: no paused task of {STATE_MACHINE} waits on key 'order-99'\n"
    aws("stepfunctions").assert_no_pending_responses()  # and no SendTaskSuccess: none was queued


def test_a_key_that_tasks_of_several_states_wait_on_is_one_line_naming_them_and_nothing_is_sent(aws, cli):
    # GIVEN two executions waiting on one key, in two states (one key has one task per state)
    aws.stack()
    queue_paused(aws, AUTOMATIC, ("job-4", SHIP, "order-42", OTHER_TOKEN, False))

    code, out, err = cli("fail", "--key", "order-42", "--error", "Rejected", "--cause", "no")

    assert (code, out) == (EXIT_FAILED, "")
    assert err == (
        f"pausable-sfn: 2 paused tasks of {STATE_MACHINE} wait on key 'order-42': job-1 at '{JOB}', "
        f"job-4 at '{SHIP}'; name the execution instead\n"
    )


@pytest.mark.parametrize("key", ["", "k" * (MAX_CORRELATION_KEY_LENGTH + 1)], ids=["empty", "too-long"])
@pytest.mark.parametrize("command", [("resume",), ("resume", "--via-lambda"), ("heartbeat",)], ids=" ".join)
def test_an_empty_or_too_long_key_is_a_usage_error_before_any_call(aws, cli, command, key):
    code, out, err = cli(*command, "--key", key)

    assert (code, out) == (EXIT_USAGE, "")
    assert err == (
        f"pausable-sfn: a correlation key has 1 to {MAX_CORRELATION_KEY_LENGTH} characters, not {len(key)}\n"
    )
    assert aws.stubbers == {}  # nothing was asked of AWS


@pytest.mark.parametrize("other", [("job-1",), ("--token", TOKEN), ("--all-paused",)], ids=lambda o: o[0])
def test_a_key_and_another_way_to_name_the_task_are_a_usage_error(aws, cli, other):
    code, _, err = cli("resume", "--key", "order-42", *other)

    assert code == EXIT_USAGE
    assert "not allowed with argument" in err
    assert TOKEN not in err
    assert aws.stubbers == {}


def test_an_approval_link_is_not_asked_for_by_key(cli):
    code, _, err = cli("approval-link", "--key", "order-42")

    assert code == EXIT_USAGE
    assert "unrecognized arguments: --key" in err


# resume --key --via-lambda: the key goes to the resume function, which finds the token itself.


@pytest.fixture
def invoked_with(aws) -> list[dict[str, Any]]:
    """What the resume function is invoked with, as it receives it."""
    events: list[dict[str, Any]] = []
    aws("lambda").client.meta.events.register(
        "provide-client-params.lambda.Invoke", lambda params, **_: events.append(json.loads(params["Payload"]))
    )
    return events


def test_resume_by_key_via_lambda_sends_the_key_and_the_state_machine_and_reads_no_token(aws, cli, invoked_with):
    # GIVEN the stack's resume function, which resumes job-1 by its key
    aws.stack()
    resumed = {"correlationKey": "order-42", "status": "SUCCEED", "executionId": execution_arn("job-1")}
    aws.invoked({"resumed": [resumed], "alreadyClosed": []})

    # WHEN the task is resumed by its key through it
    code, out, err = cli("resume", "--key", "order-42", "--via-lambda", "--output", '{"ok": true}')

    # THEN the function got the key, the state machine and the output, and no history was read
    assert (code, err) == (EXIT_OK, "")
    assert invoked_with == [{"correlationKey": "order-42", "stateMachine": STATE_MACHINE, "output": '{"ok": true}'}]
    assert out == "resumed job-1 (waiting on key 'order-42')\n"
    assert "stepfunctions" not in aws.stubbers


def test_resume_by_key_via_lambda_when_no_task_waits_on_it_is_the_same_one_line(aws, cli):
    aws.stack()
    refusal = f"{NO_TASK_WAITS_ON_KEY}: no task waits on this correlation key (correlation key 'order-99' of x)"
    aws.invoked({"errorType": "CallbackRefusedError", "errorMessage": refusal}, FunctionError="Unhandled")

    code, out, err = cli("resume", "--key", "order-99", "--via-lambda")

    assert (code, out) == (EXIT_FAILED, "")
    assert err == f"pausable-sfn: no paused task of {STATE_MACHINE} waits on key 'order-99'\n"


def test_another_error_of_the_resume_function_by_key_is_one_line_naming_it(aws, cli):
    aws.stack()
    refusal = "AmbiguousKey: more than one task waits on this correlation key:\nname the stateMachine (and state)"
    aws.invoked({"errorType": "CallbackRefusedError", "errorMessage": refusal}, FunctionError="Unhandled")

    code, _, err = cli("resume", "--key", "order-42", "--via-lambda")

    assert code == EXIT_FAILED
    assert err == (
        "pausable-sfn: ResumeStepFunctionLambda failed: AmbiguousKey: more than one task waits on this "
        "correlation key: name the stateMachine (and state)\n"
    )


def test_resume_by_key_via_lambda_needs_the_stack_and_says_so_before_any_call(aws, cli):
    code, _, err = cli("resume", "--key", "order-42", "--via-lambda", "--state-machine", STATE_MACHINE)

    assert code == EXIT_USAGE
    assert "--via-lambda invokes the stack's ResumeStepFunctionLambda: pass --stack, not --state-machine" in err
    assert aws.stubbers == {}


# Two orders with one id at one step whose task queues on a key in use: one took the key, the other
# waits in its line behind it (its hand-off said so).
HOLDER = ("job-1", JOB, "order-42", TOKEN, False, True)
IN_LINE = ("job-5", JOB, "order-42", OTHER_TOKEN, False, False, "job-1")


def test_a_command_by_key_sends_to_the_task_that_holds_the_key_not_to_those_in_its_line(aws, cli):
    aws.stack()
    queue_paused(aws, IN_LINE, HOLDER)
    aws("stepfunctions").add_response("send_task_success", {}, {"taskToken": TOKEN, "output": '{"ok": true}'})

    code, out, err = cli("resume", "--key", "order-42", "--output", '{"ok": true}')

    assert (code, err) == (EXIT_OK, "")
    assert out == "resumed job-1 (waiting on key 'order-42')\n"
    aws("stepfunctions").assert_no_pending_responses()


def test_paused_marks_the_tasks_that_wait_in_a_key_s_line(aws, cli):
    aws.stack()
    queue_paused(aws, HOLDER, IN_LINE, MANUAL)

    code, out, _ = cli("paused", "--json")

    assert code == EXIT_OK
    rows = {row["name"]: (row["correlationKey"], row["inLine"]) for row in json.loads(out)}
    assert rows == {"job-1": ("order-42", False), "job-5": ("order-42", True), "job-2": (None, False)}


def test_paused_shows_in_line_beside_the_key_of_a_task_behind_the_holder(aws, cli):
    aws.stack()
    queue_paused(aws, HOLDER, IN_LINE)

    code, out, _ = cli("paused")

    assert code == EXIT_OK
    header, *rows = out.splitlines()[1:]
    key_column = slice(header.index("KEY"), header.index("TASK TOKEN"))
    assert [row[key_column].strip() for row in rows] == ["order-42", "order-42 (in line)"]


def test_when_the_holder_no_longer_waits_the_line_s_tasks_are_not_guessed_between(aws, cli):
    # GIVEN two tasks put in line whose holder has closed: the registry moved the line on, which
    # writes no event, so the history cannot tell which of them holds the key now
    aws.stack()
    queue_paused(aws, IN_LINE, ("job-6", JOB, "order-42", TOKEN, False, False, "job-1"))

    code, out, err = cli("resume", "--key", "order-42")

    assert (code, out) == (EXIT_FAILED, "")
    assert err == (
        f"pausable-sfn: 2 paused tasks of {STATE_MACHINE} wait on key 'order-42': "
        f"job-5 at '{JOB}' (was in line: may hold the key now), job-6 at '{JOB}' (was in line: may hold the key now); "
        "which of them holds the key now only the channel's registry knows: send the callback by key "
        "through the channel (its topic, EventBridge, or resume --key --via-lambda with --stack), "
        "or name the execution\n"
    )
    aws("stepfunctions").assert_no_pending_responses()  # and nothing was sent


def test_a_task_put_in_line_behind_an_execution_that_has_moved_on_is_not_said_to_be_in_line(aws, cli):
    # GIVEN a task put in line behind job-1 at the long job, and job-1 now waiting at the next
    # step on the same id: it has let the key of the long job go (its turn may have come)
    aws.stack()
    queue_paused(aws, IN_LINE, ("job-1", SHIP, "order-42", TOKEN, False, True))

    code, out, _ = cli("paused", "--json")

    assert code == EXIT_OK
    rows = {row["name"]: (row["state"], row["inLine"]) for row in json.loads(out)}
    assert rows == {"job-5": (JOB, None), "job-1": (SHIP, False)}


def test_a_task_put_in_line_behind_a_task_that_got_the_key_from_the_line_is_in_line(aws, cli):
    # GIVEN job-5, which got the key from the line (its own hand-off said "in line" behind job-1,
    # gone since), and job-7, put in line behind job-5 after that
    aws.stack()
    queue_paused(aws, IN_LINE, ("job-7", JOB, "order-42", TOKEN, False, False, "job-5"))

    code, out, _ = cli("paused", "--json")

    # THEN job-7 is in line; of job-5 the history can only say that it may hold the key now
    assert code == EXIT_OK
    rows = {row["name"]: row["inLine"] for row in json.loads(out)}
    assert rows == {"job-5": None, "job-7": True}

"""Whatever a person gets wrong, or whatever AWS answers, the CLI says in one line: never a traceback,
never a task token. AWS is stubbed (botocore's Stubber) or unreachable; nothing is deployed."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import STACK_NAME
from pausable_sfn.contracts import fingerprint
from pausable_sfn.ops.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE
from pausable_sfn.ops.operations import Operations, TaskClosedError

from .conftest import EXECUTION, STATE_MACHINE, TOKEN


def test_an_aws_error_nobody_classified_is_one_line_naming_the_operation(aws, cli):
    aws.refuse("cloudformation", "describe_stacks", "AccessDenied", "User: x is not authorized\nto do that")

    code, out, err = cli("paused")

    assert (code, out) == (EXIT_FAILED, "")
    assert err == "pausable-sfn: DescribeStacks failed: AccessDenied: User: x is not authorized to do that\n"


def test_an_aws_error_while_reading_a_history_is_one_line_too(aws, cli):
    aws.stack()
    aws.refuse("stepfunctions", "get_execution_history", "AccessDeniedException", "not allowed")

    code, _, err = cli("resume", "order-42")

    assert code == EXIT_FAILED
    assert err == "pausable-sfn: GetExecutionHistory failed: AccessDeniedException: not allowed\n"


@pytest.mark.parametrize("command", ["resume", "heartbeat"])
def test_a_refusal_that_quotes_the_token_shows_its_fingerprint_instead(aws, cli, command):
    aws.refuse(
        "stepfunctions",
        f"send_task_{'success' if command == 'resume' else 'heartbeat'}",
        "ValidationException",
        f"cannot use {TOKEN} now",
    )

    code, out, err = cli(command, "--token", TOKEN)

    assert code == EXIT_FAILED
    assert TOKEN not in out + err
    assert f"ValidationException: cannot use {fingerprint(TOKEN)} now" in err


def test_a_resume_function_error_that_quotes_the_token_shows_its_fingerprint_instead(aws, cli):
    aws.stack()
    aws.invoked({"errorMessage": f"refused {TOKEN}", "errorType": "ValueError"}, FunctionError="Unhandled")

    code, out, err = cli("resume", "--token", TOKEN, "--via-lambda")

    assert code == EXIT_FAILED
    assert TOKEN not in out + err
    assert f"refused {fingerprint(TOKEN)}" in err


@pytest.mark.parametrize("token", ["", "x" * 2049])
@pytest.mark.parametrize(
    "command",
    [("resume",), ("resume", "--via-lambda"), ("heartbeat",), ("fail", "--error", "E", "--cause", "C")],
    ids=" ".join,
)
def test_a_token_of_the_wrong_length_is_a_usage_error_that_does_not_echo_it(aws, cli, command, token):
    code, out, err = cli(*command, "--token", token)

    assert (code, out) == (EXIT_USAGE, "")
    assert err == f"pausable-sfn: a task token has 1 to 2048 characters, not {len(token)}\n"


def test_a_stack_without_the_outputs_of_this_app_is_named(aws, cli):
    aws.stack({"SomethingElse": "x"})

    code, _, err = cli("paused", "--stack", STACK_NAME)

    assert code == EXIT_FAILED
    assert err == f"pausable-sfn: stack {STACK_NAME} has no output StateMachineArn: is it a pausable-sfn stack?\n"


def test_a_name_step_functions_refuses_is_a_usage_error(aws, cli):
    aws.stack()
    aws.refuse("stepfunctions", "start_execution", "InvalidName", "Invalid Name: 'a b'")

    code, _, err = cli("start", "--name", "a b")

    assert code == EXIT_USAGE
    assert err == "pausable-sfn: Step Functions refused the name 'a b': Invalid Name: 'a b'\n"


def test_a_region_that_is_no_region_name_is_said_so(cli):
    code, _, err = cli("paused", "--region", "not a region")

    assert code == EXIT_FAILED
    assert err == "pausable-sfn: 'not a region' is not an AWS region name: pass --region like us-east-1\n"


def test_ctrl_c_while_waiting_says_the_execution_goes_on(aws, cli, monkeypatch):
    aws.stack()
    aws("stepfunctions").add_response("start_execution", {"executionArn": EXECUTION, "startDate": datetime.now(UTC)})
    aws("stepfunctions").add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": STATE_MACHINE,
            "status": "RUNNING",
            "startDate": datetime.now(UTC),
        },
    )
    aws("stepfunctions").add_response("get_execution_history", {"events": []})

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pausable_sfn.ops.cli.time.sleep", interrupted)
    code, _, err = cli("start", "--wait")

    assert code == EXIT_INTERRUPTED
    assert err == f"pausable-sfn: stopped waiting; the execution goes on: {EXECUTION}\n"


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist"])
def test_a_task_that_has_closed_is_its_own_outcome(aws, code):
    aws.refuse("stepfunctions", "send_task_success", code, "Provided task does not exist anymore")

    with pytest.raises(TaskClosedError, match="already resumed or expired"):
        Operations().resume(TOKEN)


def test_a_task_the_resume_function_found_closed_is_the_same_outcome(aws):
    aws.stack()
    aws.invoked({"alreadyClosed": [fingerprint(TOKEN)]})

    with pytest.raises(TaskClosedError):
        Operations(conventions=DEMO).resume_via_lambda(TOKEN)


# An endpoint that cannot be reached: in another process, as a person runs the CLI.


@pytest.fixture
def closing_endpoint() -> Iterator[str]:
    """An endpoint that accepts each connection and closes it at once, without an answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone would not)
    listener.close()
    thread.join(timeout=5)


@pytest.fixture
def refusing_endpoint() -> str:
    return "http://127.0.0.1:9"  # the discard port: nothing listens there


def run_cli(environment: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pausable_sfn", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, time.monotonic() - began


@pytest.mark.parametrize(
    "args", [("paused",), ("history", "order-42"), ("resume", "--token", TOKEN)], ids=lambda args: args[0]
)
@pytest.mark.parametrize("endpoint", ["refusing_endpoint", "closing_endpoint"])
def test_an_unreachable_endpoint_fails_fast_and_names_the_endpoint(no_aws_credentials, request, args, endpoint):
    url = request.getfixturevalue(endpoint)
    environment = {
        **no_aws_credentials,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL": url,
    }

    result, elapsed = run_cli(environment, *args)

    assert result.returncode == EXIT_FAILED
    assert elapsed < 20
    [line] = result.stderr.splitlines()
    assert line.startswith("pausable-sfn: cannot reach AWS: ")
    assert f'"{url}/"' in line
    assert TOKEN not in result.stderr

"""The operator CLI by correlation key, against the deployed app: an automatic execution waits on its
job's id (the key its registrar keeps), `paused` shows that key, and `resume`/`fail --key` end the
execution by it, directly or (resume) through the stack's resume function, without a token typed.
`run_cli` runs `pausable-sfn ARGS` in this process, where the embedded AWS answers (`app` deploys it)."""

import json
import uuid

import pytest

from pausable_sfn.contracts import fingerprint

from .test_cli import cli_json

# Long enough that the emulated job does not call back while the test acts: the key is the only way in.
LONG_JOB_SECONDS = "900"


def paused_automatic(run_cli) -> tuple[str, str, str]:
    """An automatic execution started and paused at its long job: (its name, its ARN, its key)."""
    name = f"by-key-{uuid.uuid4().hex[:8]}"
    started = cli_json(run_cli, "start", "--job-duration", LONG_JOB_SECONDS, "--name", name, "--wait")
    assert started["status"] == "PAUSED"
    [row] = [row for row in cli_json(run_cli, "paused") if row["name"] == name]
    assert row["mode"] == "automatic"
    return name, started["executionArn"], row["correlationKey"]


def test_paused_shows_the_job_id_an_automatic_execution_waits_on_and_resume_key_ends_it(run_cli, app):
    # GIVEN an automatic execution waiting for its long job, on the job's id
    name, arn, key = paused_automatic(run_cli)
    assert key

    # WHEN an operator resumes it by that key
    code, out, err = run_cli("resume", "--key", key, "--output", '{"approved": true}')

    # THEN it succeeds with that output, and the CLI named the key and the execution, never the token
    assert (code, err) == (0, "")
    assert out == f"resumed {name} (waiting on key '{key}')\n"
    result = app.wait_end(arn)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["CallAsyncServiceStep"] == {"approved": True}


def test_fail_key_fails_the_execution_with_the_given_error_and_cause(run_cli, app):
    name, arn, key = paused_automatic(run_cli)

    code, out, _ = run_cli("fail", "--key", key, "--error", "Rejected", "--cause", "out of stock")

    assert (code, out) == (0, f"failed {name} (waiting on key '{key}'): Rejected\n")
    result = app.wait_end(arn)
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Rejected", "out of stock")


def test_resume_key_via_lambda_resumes_through_the_resume_function_by_the_key_alone(run_cli, app):
    name, arn, key = paused_automatic(run_cli)

    data = cli_json(run_cli, "resume", "--key", key, "--via-lambda")

    assert data == {
        "resumed": f"{name} (waiting on key '{key}')",
        "correlationKey": key,
        "executionArn": arn,
        "viaLambda": True,
    }
    assert app.wait_end(arn)["status"] == "SUCCEEDED"


@pytest.mark.parametrize("via_lambda", [False, True], ids=["direct", "via-lambda"])
def test_a_key_no_task_waits_on_is_one_line_naming_the_state_machine(run_cli, app, via_lambda):
    key = f"no-such-job-{uuid.uuid4().hex[:8]}"

    code, out, err = run_cli("resume", "--key", key, *(["--via-lambda"] if via_lambda else []))

    assert (code, out) == (1, "")
    assert err == f"pausable-sfn: no paused task of {app.output('StateMachineArn')} waits on key '{key}'\n"


def test_the_token_of_a_task_found_by_key_is_never_printed(run_cli, app):
    _, arn, key = paused_automatic(run_cli)
    token = app.wait_paused(arn).task_token

    code, out, err = run_cli("heartbeat", "--key", key)
    listed = run_cli("paused")[1]

    assert code == 0
    assert token not in out + err + listed
    assert fingerprint(token) in listed
    run_cli("fail", "--key", key, "--error", "Done", "--cause", "the test is over")

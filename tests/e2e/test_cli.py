"""The operator CLI against the embedded AWS: each command, its output, its exit code, its errors."""

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from unittest import mock

import pytest

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.names import STACK_NAME
from pausable_sfn.contracts import fingerprint
from pausable_sfn.ops import operations


@pytest.fixture
def cli(app, run_cli):
    """`pausable-sfn ARGS` against the deployed app (the embedded AWS answers in this process)."""
    return run_cli


def cli_json(cli, *args: str):
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# What `isoformat()` of an aware UTC datetime gives, always with microseconds: the one date format.
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def test_start_wait_pauses_a_manual_execution_and_paused_lists_it(cli, app):
    name = unique("manual")

    started = cli_json(cli, "start", "--manual", "--name", name, "--wait")
    listed = {row["name"]: row for row in cli_json(cli, "paused")}

    assert started["status"] == "PAUSED"
    assert started["executionArn"].endswith(f":{name}")
    row = listed[name]
    assert row["mode"] == "manual"
    token = app.wait_paused(started["executionArn"]).task_token
    assert row["taskToken"] == fingerprint(token)
    assert row["pausedForSeconds"] >= 0


def test_show_token_prints_the_live_token_that_resumes_it(cli, app):
    name = unique("show")
    cli_json(cli, "start", "--manual", "--name", name, "--wait")

    [row] = [row for row in cli_json(cli, "paused", "--show-token") if row["name"] == name]
    code, _, _ = cli("resume", "--token", row["taskToken"])

    assert code == 0
    assert app.wait_end(row["executionArn"])["status"] == "SUCCEEDED"


def test_an_automatic_execution_started_with_wait_ends_succeeded(cli):
    code, out, _ = cli("start", "--job-duration", "0", "--input", '{"ticket": "T-1"}', "--wait", "--json")

    assert code == 0
    assert json.loads(out)["status"] in ("SUCCEEDED", "PAUSED")


@pytest.mark.parametrize("by", ["name", "arn"])
def test_resume_by_name_or_arn_with_an_output(cli, app, by):
    name = unique("resume")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]

    code, out, _ = cli("resume", name if by == "name" else arn, "--output", '{"approved": true}')

    assert (code, out.strip()) == (0, f"resumed {name if by == 'name' else arn}")
    assert json.loads(app.wait_end(arn)["output"])["CallAsyncServiceStep"] == {"approved": True}


def test_resume_via_lambda_invokes_the_resume_function(cli, app, embedded):
    name = unique("lambda")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]
    before = len(embedded.runtime.invocations)

    code, _, _ = cli("resume", name, "--via-lambda")

    assert code == 0
    assert app.wait_end(arn)["status"] == "SUCCEEDED"
    assert any(
        i.function == app.output("ResumeStepFunctionFunctionName") for i in embedded.runtime.invocations[before:]
    )


def test_fail_ends_the_execution_with_the_given_error_and_cause(cli, app):
    name = unique("fail")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]

    code, _, _ = cli("fail", name, "--error", "Rejected", "--cause", "out of stock")

    result = app.wait_end(arn)
    assert code == 0
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Rejected", "out of stock")


def test_heartbeats_keep_a_task_alive_past_its_heartbeat_timeout(cli, heartbeats):
    name = unique("beat")
    arn = cli_json(cli, "start", "--stack", heartbeats.name, "--manual", "--name", name, "--wait")["executionArn"]
    heartbeats.wait_paused(arn)
    heartbeat_seconds = heartbeats.settings.long_job_heartbeat_seconds
    assert heartbeat_seconds

    # Two heartbeat timeouts go by, a heartbeat every half of one (a fifth on AWS, where a CLI
    # call takes time of its own).
    interval = heartbeat_seconds / (2 if heartbeats.clock else 5)
    for _ in range(round(2 * heartbeat_seconds / interval)):
        assert cli("heartbeat", name, "--stack", heartbeats.name)[0] == 0
        heartbeats.let_time_pass(interval)

    assert heartbeats.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert "TaskTimedOut" not in [event["type"] for event in heartbeats.history(arn)]
    cli("fail", name, "--stack", heartbeats.name, "--error", "Done", "--cause", "the test is over")


def test_history_shows_the_timeline_and_the_ending(cli, app):
    name = unique("history")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]
    cli("fail", name, "--error", "Rejected", "--cause", "no")
    app.wait_end(arn)

    data = cli_json(cli, "history", name)
    code, out, _ = cli("history", name)

    assert (data["status"], data["error"], data["cause"]) == ("FAILED", "Rejected", "no")
    events = [event["event"] for event in data["events"]]
    assert events[0] == "ExecutionStarted"
    assert {"TaskScheduled", "TaskSubmitted", "TaskFailed", "ExecutionFailed"} <= set(events)
    assert code == 0
    assert "Long job execution" in out
    assert "FAILED Rejected no" in out


@pytest.mark.first  # among the longest: started early, not left to end the run alone
def test_resume_all_paused_resumes_two_hundred_executions_in_about_two_calls_each(cli, own_copy):
    if own_copy.name == STACK_NAME:  # a real account: start from none paused
        cli("resume", "--all-paused")
    run = uuid.uuid4().hex[:6]
    arns = [own_copy.start({"IsManualCallback": "True"}, name=f"batch-{run}-{n}") for n in range(200)]
    for arn in arns:
        own_copy.wait_paused(arn, timeout=60)

    report = cli_json(cli, "resume", "--all-paused", "--concurrency", "16", "--stack", own_copy.name)

    assert (report["resumed"], report["alreadyDone"], report["failed"]) == (200, 0, [])
    assert report["apiCalls"] <= 2.1 * 200
    assert all(own_copy.wait_end(arn)["status"] == "SUCCEEDED" for arn in arns)


def test_resume_all_paused_can_leave_automatic_executions_alone(cli, own_copy):
    manual = own_copy.start({"IsManualCallback": "True"})
    automatic = own_copy.start({"JobDurationSeconds": 300})
    own_copy.wait_paused(manual)
    own_copy.wait_paused(automatic)

    report = cli_json(cli, "resume", "--all-paused", "--manual-only", "--stack", own_copy.name)

    assert report["resumed"] >= 1
    assert own_copy.wait_end(manual)["status"] == "SUCCEEDED"
    assert own_copy.sfn.describe_execution(executionArn=automatic)["status"] == "RUNNING"
    own_copy.resume({"taskToken": own_copy.wait_paused(automatic).task_token})


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("paused", "--stack", "NoSuchStack"), 1, "stack NoSuchStack not found in us-east-1"),
        (("history", "never-started"), 1, "execution never-started not found"),
        (("resume", "x", "--output", "{oops"), 2, "--output is not valid JSON"),
        (("resume", "x", "--output", json.dumps({"big": "x" * 262144})), 2, "Step Functions accepts at most 262144"),
        (("start", "--job-duration", "901"), 2, "a job takes 0 to 900 seconds, not 901"),
        (("start", "--input", "[1]"), 2, "the execution input must be a JSON object"),
        (("resume",), 2, "one of the arguments"),
    ],
)
def test_usage_and_lookup_errors_say_what_is_wrong(cli, args, code, message):
    result_code, _, err = cli(*args)

    assert result_code == code
    assert message in err


def test_a_finished_execution_is_not_paused(cli, app):
    name = unique("done")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]
    cli("resume", name)
    app.wait_end(arn)

    code, _, err = cli("resume", name)

    assert code == 1
    assert f"execution {name} is not paused: it has ended (SUCCEEDED)" in err


def test_a_token_already_used_is_reported_as_already_resumed(cli, app):
    name = unique("twice")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]
    token = app.wait_paused(arn).task_token
    cli("resume", "--token", token)
    app.wait_end(arn)

    code, _, err = cli("resume", "--token", token)

    assert code == 1
    assert "already resumed or expired" in err


def test_an_expired_token_is_reported_as_expired(cli, timeouts):
    arn = timeouts.start({"IsManualCallback": "True"})
    token = timeouts.wait_paused(arn).task_token
    timeouts.wait_end(arn)

    code, _, err = cli("heartbeat", arn, "--stack", timeouts.name)
    token_code, _, token_err = cli("resume", "--token", token, "--stack", timeouts.name)

    assert code == 1
    assert "is not paused: it has ended (FAILED)" in err
    assert token_code == 1
    assert "already resumed or expired" in token_err


@pytest.mark.emulator_only(reason="throttling is injected into the embedded AWS")
def test_throttling_that_outlasts_the_retries_is_reported(cli, app, monkeypatch):
    from botocore.config import Config
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    monkeypatch.setattr(operations, "RETRIES", Config(retries={"mode": "adaptive", "max_attempts": 1}))
    name = unique("throttled")
    cli_json(cli, "start", "--manual", "--name", name, "--wait")

    def throttled(*args, **kwargs):
        raise JsonRESTError("ThrottlingException", "Rate exceeded")

    with mock.patch.object(StepFunctionsParserBackend, "send_task_success", throttled):
        code, _, err = cli("resume", name)

    assert code == 1
    assert "throttled by AWS on send_task_success even after retries" in err
    assert cli("resume", name)[0] == 0


def test_without_credentials_it_says_how_to_provide_them(no_aws_credentials):
    environment = {**no_aws_credentials, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}

    result = subprocess.run(
        [sys.executable, "-m", "pausable_sfn", "paused"], env=environment, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert "no AWS credentials: set AWS_PROFILE (or pass --profile)" in result.stderr


def readme_cli_examples() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Operating paused executions", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.startswith("pausable-sfn ")]


@pytest.mark.emulator_only(reason="the README's fixed execution names can be used once per state machine")
def test_the_readme_cli_examples_work(cli, app):
    examples = readme_cli_examples()
    assert len(examples) >= 6

    for example in examples:
        args = shlex.split(example, comments=True)[1:]
        code, out, err = cli(*args)
        assert code == 0, f"{example}\n{out}\n{err}"


NEVER_STARTED = "no-such-execution"
NOT_AN_ARN = "arn:not-an-execution"


@pytest.mark.parametrize("execution", [NEVER_STARTED, NOT_AN_ARN])
@pytest.mark.parametrize(
    "command",
    [
        ("resume",),
        ("resume", "--via-lambda"),
        ("fail", "--error", "Rejected", "--cause", "no"),
        ("heartbeat",),
        ("history",),
    ],
    ids=" ".join,
)
def test_every_command_on_an_unknown_execution_says_it_is_not_found(cli, command, execution):
    code, out, err = cli(*command, execution)

    assert (code, out) == (1, "")
    assert err == f"pausable-sfn: execution {execution} not found\n"


def test_waiting_on_an_execution_that_disappears_says_it_is_not_found(cli, app):
    vanished = app.output("StateMachineArn").replace(":stateMachine:", ":execution:") + f":{NEVER_STARTED}"
    started = {"executionArn": vanished, "startDate": None}

    with mock.patch.object(operations.Operations, "start", return_value=started):
        code, _, err = cli("start", "--wait")

    assert code == 1
    assert err == f"pausable-sfn: execution {vanished} not found\n"


def test_fail_and_heartbeat_take_a_token_instead_of_an_execution(cli, app):
    arn = cli_json(cli, "start", "--manual", "--name", unique("token"), "--wait")["executionArn"]
    token = app.wait_paused(arn).task_token

    beat = cli("heartbeat", "--token", token)
    failed = cli("fail", "--token", token, "--error", "Rejected", "--cause", "by token")

    assert [beat[0], failed[0]] == [0, 0]
    assert (app.wait_end(arn)["status"], app.wait_end(arn)["error"]) == ("FAILED", "Rejected")
    assert not any(token in stream for stream in (*beat[1:], *failed[1:]))


@pytest.mark.parametrize(
    "args",
    [
        ("heartbeat",),
        ("heartbeat", "some-execution", "--token", "T"),
        ("fail", "--error", "E", "--cause", "C"),
        ("fail", "some-execution", "--token", "T", "--error", "E", "--cause", "C"),
    ],
)
def test_fail_and_heartbeat_take_either_an_execution_or_a_token(cli, args):
    code, _, err = cli(*args)

    assert code == 2
    assert "execution" in err
    assert "--token" in err


def test_a_fractional_job_duration_is_passed_to_the_state_machine_as_a_number(cli, app):
    code, out, err = cli("start", "--job-duration", "0.5", "--json")

    arn = json.loads(out)["executionArn"]
    assert code == 0, err
    assert json.loads(app.sfn.describe_execution(executionArn=arn)["input"]) == {"JobDurationSeconds": 0.5}
    assert app.wait_end(arn)["status"] == "SUCCEEDED"


def test_dates_are_iso_8601_with_their_zone_in_json_and_in_tables(cli, app):
    name = unique("dates")

    started = cli_json(cli, "start", "--manual", "--name", name)
    app.wait_paused(started["executionArn"])
    [row] = [row for row in cli_json(cli, "paused") if row["name"] == name]
    _, table, _ = cli("paused")

    assert ISO_UTC.fullmatch(started["startDate"]), started["startDate"]
    assert ISO_UTC.fullmatch(row["startedAt"]), row["startedAt"]
    [line] = [line for line in table.splitlines() if name in line]
    assert row["startedAt"] in line


@pytest.fixture
def endpoint(app, embedded) -> str:
    """The embedded AWS over HTTP, for a CLI in another process."""
    return embedded.endpoint_url


def run_piped(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    """`pausable-sfn ARGS | cat` in a terminal 40 columns wide."""
    environment = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "COLUMNS": "40"}
    command = [sys.executable, "-m", "pausable_sfn", *args]
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.emulator_only(reason="a moto server shares the embedded AWS with another process")
def test_arns_names_and_tokens_are_never_wrapped_in_a_narrow_or_piped_output(cli, app, endpoint):
    name = unique("a-long-execution-name-that-is-wider-than-forty-columns")
    arn = cli_json(cli, "start", "--manual", "--name", name, "--wait")["executionArn"]
    token = app.wait_paused(arn).task_token

    paused = run_piped(endpoint, "paused", "--show-token")
    history = run_piped(endpoint, "history", arn)
    started = run_piped(endpoint, "start", "--manual")

    assert paused.returncode == 0, paused.stderr
    [line] = [line for line in paused.stdout.splitlines() if name in line]
    assert token in line
    assert arn in history.stdout.splitlines()
    assert started.returncode == 0, started.stderr
    assert re.fullmatch(r"arn:aws:states:\S+:execution:\S+\n", started.stdout)


@pytest.mark.emulator_only(reason="a moto server shares the embedded AWS with another process")
@pytest.mark.parametrize("command", ["start", "history"])
def test_a_reader_that_goes_away_ends_the_command_quietly(cli, endpoint, command):
    arn = cli_json(cli, "start", "--manual", "--name", unique("pipe"), "--wait")["executionArn"]
    environment = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    command = [
        sys.executable,
        "-m",
        "pausable_sfn",
        *(["start", "--manual"] if command == "start" else ["history", arn]),
    ]

    with subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        process.stdout.close()  # as `| head -0` does: gone before the command has read the history
        err = process.stderr.read()

    assert process.returncode == 1
    assert err == ""

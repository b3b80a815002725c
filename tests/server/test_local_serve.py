"""Server mode: the app in a moto server on 127.0.0.1, reached over HTTP as the AWS CLI would."""

import base64
import json
import os
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.cli import main
from pausable_sfn.local.server import LocalServer
from pausable_sfn.testing.polling import wait_for

from ..serving import printed, serve_command, start_serving


@pytest.fixture(scope="module")
def assembly(synthesized_once):
    return synthesized_once("app")


@pytest.fixture(scope="module")
def server(assembly):
    with LocalServer(assembly_dir=assembly) as running:
        yield running


def client(server, service):
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",
        config=Config(retries={"max_attempts": 1}),
    )


def outputs(server) -> dict[str, str]:
    [stack] = client(server, "cloudformation").describe_stacks(StackName="PausableStepFunctionStack")["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


def test_an_automatic_execution_runs_through_the_server_on_its_own_port(server):
    sfn = client(server, "stepfunctions")

    arn = sfn.start_execution(stateMachineArn=outputs(server)["StateMachineArn"], input='{"JobDurationSeconds": 0}')[
        "executionArn"
    ]
    wait_for(sfn, arn, lambda s: False, timeout=15)

    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_a_manual_execution_is_resumed_by_invoking_the_resume_function_over_http(server):
    sfn = client(server, "stepfunctions")
    arn = sfn.start_execution(stateMachineArn=outputs(server)["StateMachineArn"], input='{"IsManualCallback": "True"}')[
        "executionArn"
    ]
    token = wait_for(sfn, arn, lambda s: s.paused, timeout=10).task_token

    response = client(server, "lambda").invoke(
        FunctionName=outputs(server)["ResumeStepFunctionFunctionName"], Payload=json.dumps({"taskToken": token})
    )
    wait_for(sfn, arn, lambda s: False, timeout=10)

    assert "FunctionError" not in response
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def ctrl_c(process: subprocess.Popen) -> None:
    """What a Ctrl-C at its terminal does: SIGINT to every process of the terminal's group."""
    os.killpg(process.pid, signal.SIGINT)


def sigterm(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize(
    ("stop", "arguments"),
    [pytest.param(ctrl_c, (), marks=pytest.mark.first), (sigterm, ("--assembly",))],
    ids=["ctrl-c at its terminal, the app synthesized", "sigterm, a given assembly"],
)
def test_the_serve_command_starts_and_stops_cleanly_leaving_no_temporary_folder(assembly, tmp_path, stop, arguments):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    # A narrow terminal and a pipe: lines people copy must still come whole.
    environment = {**os.environ, "TMPDIR": str(temporary), "COLUMNS": "30"}
    command = serve_command("--port", "0", *(arguments and (arguments[0], str(assembly))))
    process, lines = start_serving(command, environment)
    try:
        endpoint = next(line.split(" at ")[-1] for line in lines if "deployed into the embedded AWS at" in line)
        assert printed(lines, "export ") == (
            f"AWS_ENDPOINT_URL={endpoint} AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 "
            "AWS_ACCESS_KEY_ID=embedded AWS_SECRET_ACCESS_KEY=embedded"
        )
        assert any(line.split()[:1] == ["StateMachineArn"] and ":stateMachine:" in line for line in lines), lines
        # The console, on the same endpoint, announced on a line of its own.
        console = printed(lines, "Console: ")
        assert console == f"{endpoint}/console/"
        with urllib.request.urlopen(console, timeout=30) as page:
            assert "Executions" in page.read().decode()
        stop(process)
        assert process.wait(timeout=30) == 0
        said = process.stdout.read()
        assert "stopping" in said
        assert "Traceback" not in said, said
        assert "Error" not in said, said
        assert list(temporary.iterdir()) == []
    finally:
        process.kill()


def test_a_port_in_use_stops_it_at_once_naming_the_port_and_leaves_nothing_behind(assembly, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            serve_command("--port", str(port), "--assembly", str(assembly)),
            cwd=PROJECT_ROOT,
            env={**os.environ, "TMPDIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def other_app(folder: Path, stacks: dict[str, dict]) -> Path:
    """A cloud assembly of another CDK app: these stacks, each with this template."""
    artifacts = {}
    for name, template in stacks.items():
        (folder / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {"type": "aws:cloudformation:stack", "properties": {"templateFile": f"{name}.template.json"}}
    (folder / "manifest.json").write_text(json.dumps({"version": "41.0.0", "artifacts": artifacts}))
    return folder


QUEUE_APP = {"Resources": {"Jobs": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"JobsUrl": {"Value": {"Ref": "Jobs"}}}}


def test_any_app_s_only_stack_is_served_under_its_own_name(tmp_path):
    app = other_app(tmp_path, {"OrdersStack": QUEUE_APP})

    process, lines = start_serving(serve_command("--port", "0", "--assembly", str(app)), dict(os.environ))
    try:
        assert any("OrdersStack deployed into the embedded AWS" in line for line in lines), lines
        assert any(line.split()[:1] == ["JobsUrl"] for line in lines), lines
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("stacks", "arguments", "message"),
    [
        ({"A": QUEUE_APP, "B": QUEUE_APP}, (), "has 2 stacks (A, B): name one"),
        ({"A": QUEUE_APP}, ("--stack", "C"), "has no stack C (it has: A)"),
        (
            {"A": {"Resources": {"Db": {"Type": "AWS::RDS::DBInstance"}}}},
            (),
            "the embedded AWS cannot deploy: AWS::RDS::DBInstance (Db)",
        ),
    ],
    ids=["two stacks, none named", "an unknown stack", "an unknown resource type"],
)
def test_a_deploy_it_cannot_do_is_one_clear_message(tmp_path, capsys, stacks, arguments, message):
    app = other_app(tmp_path, stacks)

    # In this process (the command line as `pausable-sfn` parses it): a server process each would
    # cost seconds of CPU to import what the test process has imported already.
    code = main(["local", "serve", "--port", "0", "--assembly", str(app), *arguments])

    out, err = capsys.readouterr()
    assert code == 1
    [line] = [line for line in err.splitlines() if line]
    assert message in line
    assert "Traceback" not in out + err


def test_a_lambda_payload_that_is_not_json_is_refused_as_lambda_refuses_it(server):
    with pytest.raises(ClientError) as refused:
        client(server, "lambda").invoke(FunctionName=outputs(server)["ResumeStepFunctionFunctionName"], Payload=b"{not")

    assert refused.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_lambda_invoke_with_log_type_tail_returns_the_end_of_the_invocation_s_log(server):
    response = client(server, "lambda").invoke(
        FunctionName=outputs(server)["ResumeStepFunctionFunctionName"], Payload=b'{"taskToken": "x"}', LogType="Tail"
    )

    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith("START RequestId: ")
    assert log.splitlines()[-1].startswith("REPORT RequestId: ")

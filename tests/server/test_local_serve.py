"""Server mode: the app in a moto server on 127.0.0.1, reached over HTTP as the AWS CLI would."""

import json
import signal
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.history import wait_for
from pausable_sfn.local.server import LocalServer


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    from pausable_sfn.cdk_app import synthesize

    return synthesize(tmp_path_factory.mktemp("cdk.out"))


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


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_serve_command_starts_and_stops_cleanly_on_ctrl_c_or_sigterm(assembly, stop_signal):
    command = [sys.executable, "-m", "pausable_sfn", "local", "serve", "--port", "0", "--assembly", str(assembly)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "stops it" in line or not line:
                break
        assert any("deployed into a local moto server at http://127.0.0.1:" in line for line in lines), lines
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
        assert "stopping" in process.stdout.read()
    finally:
        process.kill()


def test_a_folder_that_is_not_an_assembly_is_a_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pausable_sfn", "local", "serve", "--assembly", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 2
    assert "is not a synthesized cloud assembly (no manifest.json there)" in result.stderr


def test_a_bad_port_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "pausable_sfn", "local", "serve", "--port", "70000"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 2
    assert "a port is from 0 to 65535, not 70000" in result.stderr

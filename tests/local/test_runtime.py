"""The in-process Lambda runtime: a handler runs from its asset, as it would on Lambda."""

import json
import os
import textwrap
from pathlib import Path

import pytest

from pausable_sfn.local.runtime import FunctionConfig, FunctionNotFoundError, LambdaRuntime

HANDLER = """
import logging, os, sys, time

# Like Powertools' Logger: a handler on stdout, made when the module is imported.
log = logging.getLogger("asset-under-test")
log.addHandler(logging.StreamHandler(sys.stdout))
log.setLevel(logging.INFO)
log.propagate = False

def handler(event, context):
    if event.get("fail"):
        raise ValueError("told to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    log.info("hello from the handler")
    return {
        "file": __file__,
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "log_stream": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "setting": os.environ.get("SETTING"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "function_env": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
    }
"""


@pytest.fixture
def asset(tmp_path: Path) -> Path:
    package = tmp_path / "asset" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(textwrap.dedent(HANDLER))
    return tmp_path / "asset"


@pytest.fixture
def runtime(asset: Path) -> LambdaRuntime:
    written = []
    runtime = LambdaRuntime(
        region="us-east-1",
        account_id="123456789012",
        aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        log_sink=lambda config, stream, lines: written.append((config.name, stream, lines)),
    )
    runtime.written = written  # type: ignore[attr-defined]
    runtime.register(
        FunctionConfig(
            name="fn",
            arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
            handler="app.main.handler",
            asset_dir=asset,
            environment={"SETTING": "on"},
            timeout_seconds=1,
            memory_mb=256,
            log_group="/aws/lambda/fn",
        )
    )
    return runtime


def test_the_handler_runs_from_the_asset_with_the_function_environment_and_context(runtime, asset):
    invocation = runtime.invoke("fn", {})

    result = invocation.result()
    assert Path(result["file"]).parent.parent == asset
    assert (result["name"], result["request_id"]) == ("fn", invocation.request_id)
    assert result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert 0 < result["remaining_ms"] <= 1000
    assert (result["setting"], result["endpoint"], result["function_env"]) == ("on", "http://127.0.0.1:1", "fn")


def test_the_environment_is_restored_after_the_call(runtime):
    os.environ.pop("SETTING", None)

    runtime.invoke("fn", {})

    assert "SETTING" not in os.environ


def test_a_function_is_found_by_name_or_arn_with_or_without_qualifier(runtime):
    for name in (
        "fn",
        "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST",
    ):
        assert runtime.find(name).name == "fn"
    with pytest.raises(FunctionNotFoundError, match="Function not found: other"):
        runtime.find("other")


def test_an_exception_becomes_lambdas_error_payload(runtime):
    invocation = runtime.invoke("fn", {"fail": True})

    assert invocation.failed
    assert invocation.error_type == "ValueError"
    payload = json.loads(invocation.payload)
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "told to fail")
    assert payload["requestId"] == invocation.request_id
    assert payload["stackTrace"]


def test_an_overrun_of_the_timeout_is_reported_as_lambda_reports_it(runtime):
    invocation = runtime.invoke("fn", {"sleep": 1.05})

    assert invocation.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in invocation.result()["errorMessage"]


def test_what_the_handler_logs_goes_to_its_log_with_lambdas_platform_lines(runtime):
    invocation = runtime.invoke("fn", {})

    [(function, stream, lines)] = runtime.written
    assert function == "fn"
    assert stream == invocation.result()["log_stream"]  # the stream the handler's context names
    assert stream.endswith(f"[$LATEST]{invocation.request_id.replace('-', '')}")
    assert lines[0] == f"START RequestId: {invocation.request_id} Version: $LATEST"
    assert "hello from the handler" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {invocation.request_id}\tDuration: ")
    assert "Billed Duration" in lines[-1]


def test_billed_time_adds_up_the_invocations(runtime):
    runtime.invoke("fn", {})
    runtime.invoke("fn", {})

    assert runtime.billed_ms("fn") == pytest.approx(sum(i.duration_ms for i in runtime.invocations))
    assert len(runtime.invocations) == 2

"""Functions created through the Lambda API (CreateFunction with a zip, inline or from the embedded
S3) run as deployed ones do, in the embedded runtime's execution environments, in process and in
server mode alike; UpdateFunctionCode, UpdateFunctionConfiguration and DeleteFunction keep the
runtime in step; what it cannot run is a function error, what Lambda refuses a 400 (gap 23)."""

import base64
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

from .asset_code import zipped
from .test_events import function, write_assembly

HANDLERS = """
import os, time

def describe(event, context):
    print("handled", event.get("mark"))
    return {
        "version": VERSION,
        "event": event,
        "greeting": os.environ.get("GREETING"),
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "context": context.function_name,
        "leaked": os.environ.get("ONLY_IN_THE_TEST"),
        "pid": os.getpid(),
    }

def shout(event, context):
    return os.environ["GREETING"].upper()

def fail(event, context):
    raise ValueError("told to fail")

def sleep(event, context):
    time.sleep(600)
"""
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}
# Lambda's own words, as it refuses code.
NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
NO_SUCH_KEY = (
    "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."
)


def handlers(version: int = 1) -> bytes:
    """A zip of the module `handlers`, whose `describe` tells its version."""
    return zipped({"handlers.py": f"{HANDLERS}\nVERSION = {version}\n"})


@dataclass
class Api:
    """The embedded AWS and clients of it, as a program outside it makes them."""

    embedded: EmbeddedAws
    role: str = ""
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                region_name=self.embedded.region,
                endpoint_url=None if self.embedded.in_process else self.embedded.endpoint_url,
                aws_access_key_id="embedded",
                aws_secret_access_key="embedded",
                config=Config(retries={"max_attempts": 1}),  # a 500 is seen once, not retried away
            )
        return self._clients[service]

    def create(self, *, handler: str = "handlers.describe", code: bytes | None = None, **settings: Any) -> str:
        name = f"created-{uuid.uuid4().hex[:12]}"
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime=settings.pop("Runtime", "python3.13"),
            Role=self.role,
            Handler=handler,
            Code={"ZipFile": handlers() if code is None else code},
            **settings,
        )
        return name

    def invoke(self, name: str, event: Any = None, **options: Any) -> tuple[dict[str, Any], Any]:
        """The Invoke answer's fields, and its payload read as JSON."""
        answer = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **options)
        payload = answer.pop("Payload").read()
        return answer, json.loads(payload) if payload else None

    def log_messages(self, name: str) -> list[str]:
        logs = self.client("logs")
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [event["message"] for event in events]


@pytest.fixture(scope="module", params=["in process", "server mode"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    with EmbeddedAws(in_process=request.param == "in process") as embedded:
        api = Api(embedded)
        role = api.client("iam").create_role(RoleName="runner", AssumeRolePolicyDocument=json.dumps(TRUST))
        api.role = role["Role"]["Arn"]
        yield api


@pytest.fixture(autouse=True)
def no_error_in_the_servers_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A request the embedded AWS fails on (a 500) leaves a traceback in its log: none may."""
    yield
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


def refusal(call: Callable[[], Any]) -> dict[str, Any]:
    """The error a call is answered with, and its HTTP status."""
    with pytest.raises(ClientError) as refused:
        call()
    return {**refused.value.response["Error"], "status": refused.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def test_a_created_function_answers_with_its_handlers_result(api):
    name = api.create()

    answer, result = api.invoke(name, {"mark": "first"})

    assert (answer["StatusCode"], answer.get("FunctionError"), answer["ExecutedVersion"]) == (200, None, "$LATEST")
    assert (result["version"], result["event"], result["context"]) == (1, {"mark": "first"}, name)
    assert result["pid"] != os.getpid()  # in an execution environment of its own


def test_it_sees_its_own_variables_and_lambdas_never_the_callers(api, monkeypatch):
    monkeypatch.setenv("ONLY_IN_THE_TEST", "secret")
    name = api.create(Environment={"Variables": {"GREETING": "hello"}})

    _, result = api.invoke(name)

    assert (result["greeting"], result["function"], result["leaked"]) == ("hello", name, None)


def test_new_code_runs_in_a_new_environment_and_the_old_one_ends(api):
    name = api.create()
    _, before = api.invoke(name)

    api.client("lambda").update_function_code(FunctionName=name, ZipFile=handlers(version=2))
    _, after = api.invoke(name)

    assert (before["version"], after["version"]) == (1, 2)
    assert after["pid"] != before["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(before["pid"], 0)


def test_code_from_the_embedded_s3_runs_at_creation_and_after_an_update(api):
    s3 = api.client("s3")
    bucket = f"code-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="v3.zip", Body=handlers(version=3))
    s3.put_object(Bucket=bucket, Key="v4.zip", Body=handlers(version=4))
    name = f"from-s3-{uuid.uuid4().hex[:12]}"
    api.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=api.role,
        Handler="handlers.describe",
        Code={"S3Bucket": bucket, "S3Key": "v3.zip"},
    )
    _, created = api.invoke(name)

    api.client("lambda").update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="v4.zip")
    _, updated = api.invoke(name)

    assert (created["version"], updated["version"]) == (3, 4)


def test_a_new_configuration_applies_from_the_next_invocation(api):
    name = api.create(Environment={"Variables": {"GREETING": "hello"}}, Timeout=30)
    api.invoke(name)

    api.client("lambda").update_function_configuration(
        FunctionName=name, Handler="handlers.shout", Environment={"Variables": {"GREETING": "changed"}}
    )
    _, shouted = api.invoke(name)
    api.client("lambda").update_function_configuration(FunctionName=name, Handler="handlers.sleep", Timeout=1)
    answer, timed_out = api.invoke(name)

    assert shouted == "CHANGED"
    assert (answer["FunctionError"], timed_out["errorType"]) == ("Unhandled", "Sandbox.Timedout")
    assert timed_out["errorMessage"].endswith("Task timed out after 1.00 seconds")


def test_a_raising_handler_is_a_function_error_with_lambdas_error_payload(api):
    name = api.create(handler="handlers.fail")

    answer, error = api.invoke(name)

    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "told to fail")
    assert error["stackTrace"]
    assert "[ERROR] ValueError: told to fail" in api.log_messages(name)


def test_an_invocation_past_its_timeout_is_stopped_there(api):
    name = api.create(handler="handlers.sleep", Timeout=1)

    answer, error = api.invoke(name)

    assert (answer["FunctionError"], error["errorType"]) == ("Unhandled", "Sandbox.Timedout")
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert any("Status: timeout" in message for message in api.log_messages(name))


def test_what_the_code_prints_goes_to_its_log_group_and_to_the_tail_asked_for(api):
    name = api.create()
    mark = uuid.uuid4().hex

    answer, _ = api.invoke(name, {"mark": mark}, LogType="Tail")

    tail = base64.b64decode(answer["LogResult"]).decode()
    assert f"handled {mark}" in tail
    messages = wait_until(lambda: api.log_messages(name), what="the log group to be written")
    assert messages[0].startswith("START RequestId: ")
    assert f"handled {mark}" in messages
    assert messages[-1].startswith("REPORT RequestId: ")


def test_an_asynchronous_invoke_runs_it(api):
    name = api.create()
    mark = uuid.uuid4().hex

    answer, _ = api.invoke(name, {"mark": mark}, InvocationType="Event")

    assert answer["StatusCode"] == 202
    wait_until(lambda: f"handled {mark}" in api.log_messages(name), what="the event to be handled")


def test_a_state_machine_invokes_it_through_lambda_invoke_and_its_plain_arn(api):
    name = api.create()
    arn = api.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    definition = {
        "StartAt": "Optimised",
        "States": {
            "Optimised": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload": {"mark": "optimised"}},
                "ResultSelector": {"mark.$": "$.Payload.event.mark", "version.$": "$.Payload.version"},
                "ResultPath": "$.optimised",
                "Next": "Plain",
            },
            "Plain": {
                "Type": "Task",
                "Resource": arn,
                "Parameters": {"mark": "plain"},
                "ResultSelector": {"mark.$": "$.event.mark"},
                "ResultPath": "$.plain",
                "End": True,
            },
        },
    }
    sfn = api.client("stepfunctions")
    machine = sfn.create_state_machine(name=f"invokes-{name}", definition=json.dumps(definition), roleArn=api.role)[
        "stateMachineArn"
    ]

    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    ended = wait_until(
        lambda: (described := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and described,
        what="the execution to end",
    )

    assert ended["status"] == "SUCCEEDED", ended
    assert json.loads(ended["output"]) == {"optimised": {"mark": "optimised", "version": 1}, "plain": {"mark": "plain"}}


@pytest.mark.parametrize(
    ("settings", "error_type", "message"),
    [
        (
            {"Runtime": "nodejs20.x", "handler": "index.handler", "code": zipped({"index.js": "exports.handler = 1"})},
            "Runtime.Unsupported",
            "the embedded AWS runs Python functions only, not nodejs20.x",
        ),
        (
            {"handler": "missing.handler"},
            "Runtime.ImportModuleError",
            "Unable to import module 'missing': No module named 'missing'",
        ),
        ({"handler": "handlers.absent"}, "Runtime.HandlerNotFound", "Handler 'absent' missing on module 'handlers'"),
        (
            {"handler": "describe"},
            "Runtime.MalformedHandlerName",
            "Bad handler 'describe': not enough values to unpack (expected 2, got 1)",
        ),
    ],
    ids=["node runtime", "missing module", "missing handler", "handler without module"],
)
def test_code_it_cannot_run_is_a_function_error_naming_the_problem(api, settings, error_type, message):
    name = api.create(**settings)

    answer, error = api.invoke(name)

    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    assert (error["errorType"], error["errorMessage"]) == (error_type, message)
    assert f"[ERROR] {error_type}: {message}" in "\n".join(api.log_messages(name))


@pytest.mark.parametrize(
    ("code", "handler", "message"),
    [
        ({"ZipFile": b"not a zip"}, "handlers.describe", NOT_A_ZIP),
        # Stored uncompressed: a changed byte of the module leaves the archive readable, its checksum wrong.
        ({"ZipFile": handlers().replace(b"def describe", b"def dEscribe", 1)}, "handlers.describe", NOT_A_ZIP),
        ({"S3Bucket": "code-of-no-one", "S3Key": "missing.zip"}, "handlers.describe", NO_SUCH_KEY),
        (
            {"ZipFile": handlers()},
            None,
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ),
    ],
    ids=["not a zip", "damaged zip", "missing s3 object", "no handler"],
)
def test_code_lambda_refuses_is_refused_at_creation_and_no_function_is_made(api, code, handler, message):
    api.client("s3").create_bucket(Bucket="code-of-no-one")
    name = f"refused-{uuid.uuid4().hex[:12]}"
    options = {"Handler": handler} if handler else {}

    refused = refusal(
        lambda: api.client("lambda").create_function(
            FunctionName=name, Runtime="python3.13", Role=api.role, Code=code, **options
        )
    )

    assert refused == {"Code": "InvalidParameterValueException", "Message": message, "status": 400}
    assert refusal(lambda: api.client("lambda").get_function(FunctionName=name))["status"] == 404
    scratch = api.embedded.runtime.scratch
    assert scratch is None or not list(scratch.glob("code/.partial-*"))  # nothing half-extracted is left


def test_code_that_is_not_a_zip_is_refused_at_update_and_the_function_keeps_its_own(api):
    name = api.create()
    before = api.client("lambda").get_function(FunctionName=name)["Configuration"]["CodeSha256"]

    refused = refusal(lambda: api.client("lambda").update_function_code(FunctionName=name, ZipFile=b"not a zip"))

    assert refused == {"Code": "InvalidParameterValueException", "Message": NOT_A_ZIP, "status": 400}
    assert api.client("lambda").get_function(FunctionName=name)["Configuration"]["CodeSha256"] == before
    assert api.invoke(name)[1]["version"] == 1


def test_a_deleted_function_is_not_found_and_its_environments_end(api):
    name = api.create()
    _, warm = api.invoke(name)

    api.client("lambda").delete_function(FunctionName=name)

    refused = refusal(lambda: api.invoke(name))
    assert (refused["Code"], refused["status"]) == ("ResourceNotFoundException", 404)
    with pytest.raises(ProcessLookupError):
        os.kill(warm["pid"], 0)


def test_a_deployed_function_updated_through_the_api_keeps_what_its_template_gave_it(tmp_path: Path):
    deployed = function(
        "describe",
        Environment={"Variables": {"GREETING": "deployed"}},
        LoggingConfig={"LogGroup": "declared-group"},
    )
    with EmbeddedAws() as aws:
        name = aws.deploy(write_assembly(tmp_path, {"Fn": deployed}, f"{HANDLERS}\nVERSION = 1\n")).resources["Fn"].ref

        aws.client("lambda").update_function_configuration(
            FunctionName=name, Environment={"Variables": {"GREETING": "updated"}}
        )
        result = json.loads(aws.invoke(name, {"mark": "after the update"})["Payload"].read())
        logged = [e["message"] for e in aws.client("logs").filter_log_events(logGroupName="declared-group")["events"]]

    assert result["greeting"] == "updated"
    assert "handled after the update" in logged

"""Reserved concurrency caps a function's concurrent invocations, as on Lambda: beyond it a
synchronous invoke is throttled (429), an asynchronous one waits in its queue and runs later."""

import json
import threading
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

from .asset_code import HOLD_UNTIL_RELEASED
from .test_events import function, write_assembly

HANDLERS = (
    """
import time
from pathlib import Path

def hold(event, context):
    hold_until_released(Path(event["folder"]), f"held-{event['n']}")
    return {"n": event["n"]}
"""
    + HOLD_UNTIL_RELEASED
)


def deploy_holder(aws: EmbeddedAws, folder: Path) -> str:
    resources = {"Holder": function("hold", Timeout=60, ReservedConcurrentExecutions=1)}
    deployment = aws.deploy(write_assembly(folder / "assembly", resources, HANDLERS), stack_name="Stack")
    return deployment.resources["Holder"].ref


def lambda_without_retries():
    """A client that shows the first answer: boto3's standard mode would retry a throttle."""
    return boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}))


def hold_one(aws: EmbeddedAws, name: str, folder: Path) -> threading.Thread:
    held = threading.Thread(
        target=aws.invoke, args=(name, {"folder": str(folder), "n": 1}), name="held-invocation", daemon=True
    )
    held.start()
    wait_until((folder / "held-1").exists, what="the first invocation to run")
    return held


def test_a_synchronous_invoke_beyond_the_reserved_concurrency_is_throttled_with_lambdas_error(tmp_path):
    with EmbeddedAws() as aws:
        name = deploy_holder(aws, tmp_path)
        held = hold_one(aws, name, tmp_path)

        with pytest.raises(ClientError) as throttled:
            lambda_without_retries().invoke(FunctionName=name, Payload=json.dumps({"folder": str(tmp_path), "n": 2}))
        (tmp_path / "release").touch()
        held.join(timeout=30)
        reserved = aws.client("lambda").get_function_concurrency(FunctionName=name)

    error = throttled.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert not (tmp_path / "held-2").exists()
    assert reserved["ReservedConcurrentExecutions"] == 1


def test_an_asynchronous_invoke_beyond_it_waits_and_runs_once_the_function_is_free(tmp_path):
    with EmbeddedAws(async_retry_delays=(0.05, 0.1)) as aws:
        name = deploy_holder(aws, tmp_path)
        held = hold_one(aws, name, tmp_path)

        accepted = aws.client("lambda").invoke(
            FunctionName=name, InvocationType="Event", Payload=json.dumps({"folder": str(tmp_path), "n": 2})
        )
        wait_until(lambda: aws.runtime.throttles(name) >= 2, what="the queued event to be throttled, twice")
        (tmp_path / "release").touch()
        held.join(timeout=30)
        aws.wait_idle()

    assert accepted["StatusCode"] == 202
    assert [invocation.result() for invocation in aws.runtime.invocations] == [{"n": 1}, {"n": 2}]


def test_put_function_concurrency_through_the_api_takes_effect_at_once(tmp_path):
    with EmbeddedAws() as aws:
        name = deploy_holder(aws, tmp_path)
        aws.client("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)

        with pytest.raises(ClientError, match="TooManyRequestsException"):
            lambda_without_retries().invoke(FunctionName=name, Payload=b"{}")
        aws.client("lambda").delete_function_concurrency(FunctionName=name)
        (tmp_path / "release").touch()
        answer = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"folder": str(tmp_path), "n": 3}))

    assert json.loads(answer["Payload"].read()) == {"n": 3}


def test_with_a_reserved_concurrency_of_zero_an_asynchronous_event_goes_to_its_destination_untried(tmp_path):
    resources = {
        "Failed": {"Type": "AWS::SQS::Queue"},
        "Holder": function("hold", ReservedConcurrentExecutions=0),
        "InvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Holder"},
                "Qualifier": "$LATEST",
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failed", "Arn"]}}},
            },
        },
    }
    with EmbeddedAws() as aws:
        deployment = aws.deploy(write_assembly(tmp_path, resources, HANDLERS), stack_name="Stack")
        aws.client("lambda").invoke(
            FunctionName=deployment.resources["Holder"].ref, InvocationType="Event", Payload=b"{}"
        )
        sqs = aws.client("sqs")
        [message] = wait_until(
            lambda: sqs.receive_message(QueueUrl=deployment.resources["Failed"].ref).get("Messages"),
            what="the event at its on-failure destination",
        )

    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "ZeroReservedConcurrency"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {}
    assert aws.runtime.invocations == []

"""Event delivery as Lambda does it: SQS batches with partial failures, async retries, dead letters."""

import json
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

HANDLERS = """
def fail_bad_items(event, context):
    bad = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
    return {
        "batchItemFailures": [{"itemIdentifier": message_id} for message_id in bad],
        "bodies": [r["body"] for r in event["Records"]],  # for the test to read; Lambda ignores it
    }

def always_fail(event, context):
    raise RuntimeError("cannot handle " + event["Records"][0]["Sns"]["Message"])

def work_long(event, context):
    from pathlib import Path
    import time
    folder = Path(event["folder"])
    (folder / "started").touch()
    time.sleep(600)
    (folder / "finished").touch()
"""
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []}}}


def function(handler: str, **properties) -> dict:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Key": "asset.zip"},
            "Handler": f"handlers.{handler}",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Runtime": "python3.14",
            **properties,
        },
    }


def write_assembly(folder: Path, resources: dict, handlers: str = HANDLERS) -> Path:
    """A cloud assembly of one stack ("Stack"): a role ("Role"), `resources`, and one asset
    whose module `handlers` holds the source `handlers`."""
    asset = folder / "asset.handlers"
    asset.mkdir(parents=True)
    (asset / "handlers.py").write_text(textwrap.dedent(handlers))
    (folder / "Stack.template.json").write_text(json.dumps({"Resources": {"Role": ROLE, **resources}}))
    assets = {
        "files": {
            "h": {"source": {"path": asset.name, "packaging": "zip"}, "destinations": {"d": {"objectKey": "asset.zip"}}}
        }
    }
    (folder / "Stack.assets.json").write_text(json.dumps(assets))
    manifest = {
        "artifacts": {
            "Stack.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Stack.assets.json"}},
            "Stack": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Stack.template.json"},
                "dependencies": ["Stack.assets"],
            },
        }
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_an_sqs_batch_deletes_what_succeeded_and_redelivers_only_the_failed_items(tmp_path):
    resources = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "Consumer": function("fail_bad_items"),
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                "FunctionName": {"Ref": "Consumer"},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        },
    }
    with EmbeddedAws() as aws:
        deployment = aws.deploy(write_assembly(tmp_path, resources), stack_name="Stack")
        sqs, url = aws.client("sqs"), deployment.resources["Queue"].ref
        sqs.send_message(QueueUrl=url, MessageBody="good")
        sqs.send_message(QueueUrl=url, MessageBody="bad", DelaySeconds=60)
        # The delay and the visibility timeout pass on the clock, skipped to while nothing runs.
        aws.clock.run_until(lambda: len(aws.runtime.invocations) >= 3, timeout=30)

    batches = [invocation.result()["bodies"] for invocation in aws.runtime.invocations[:3]]
    # "good" alone (the delayed "bad" was not visible yet) and deleted; "bad" redelivered after
    # the visibility timeout, alone.
    assert batches == [["good"], ["bad"], ["bad"]]


@pytest.mark.parametrize("destination", ["DeadLetterConfig", "OnFailure"])
def test_a_failing_async_invocation_is_retried_twice_then_sent_to_its_dead_letter_target(tmp_path, destination):
    failed_target = {"Fn::GetAtt": ["Failed", "Arn"]}
    resources = {
        "Failed": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Handler": function(
            "always_fail",
            **({"DeadLetterConfig": {"TargetArn": failed_target}} if destination == "DeadLetterConfig" else {}),
        ),
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "lambda",
                "Endpoint": {"Fn::GetAtt": ["Handler", "Arn"]},
            },
        },
    }
    if destination == "OnFailure":
        resources["InvokeConfig"] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Handler"},
                "Qualifier": "$LATEST",
                "DestinationConfig": {"OnFailure": {"Destination": failed_target}},
            },
        }
    with EmbeddedAws() as aws:  # Lambda's own retry delays, about 1 and 2 minutes, on the clock
        deployment = aws.deploy(write_assembly(tmp_path, resources), stack_name="Stack")
        started = aws.clock.now()
        aws.client("sns").publish(TopicArn=deployment.resources["Topic"].ref, Message="job 7")
        sqs = aws.client("sqs")

        def dead_lettered() -> list[dict]:
            queue = deployment.resources["Failed"].ref
            return sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"]).get("Messages", [])

        messages: list[dict] = []
        aws.clock.run_until(lambda: bool(messages.extend(dead_lettered()) or messages), timeout=30)

    assert [i.error_type for i in aws.runtime.invocations] == ["RuntimeError"] * 3
    assert aws.clock.now() - started >= timedelta(minutes=3)
    [message] = messages
    body = json.loads(message["Body"])
    if destination == "DeadLetterConfig":
        assert body["Records"][0]["Sns"]["Message"] == "job 7"  # the event itself
        assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "cannot handle job 7"
    else:
        assert body["requestContext"]["condition"] == "RetriesExhausted"
        assert body["requestContext"]["approximateInvokeCount"] == 3
        assert body["responsePayload"]["errorMessage"] == "cannot handle job 7"


def test_stopping_the_embedded_aws_ends_a_running_invocation_instead_of_waiting_for_it(tmp_path):
    resources = {"Worker": function("work_long", Timeout=900)}
    marks = tmp_path / "marks"
    marks.mkdir()
    aws = EmbeddedAws()
    with aws:
        deployment = aws.deploy(write_assembly(tmp_path, resources), stack_name="Stack")
        aws.client("lambda").invoke(
            FunctionName=deployment.resources["Worker"].ref,
            InvocationType="Event",
            Payload=json.dumps({"folder": str(marks)}).encode(),
        )
        wait_until((marks / "started").exists, what="the invocation to start")
        closing = threading.Thread(target=aws.__exit__)
        closing.start()
        closing.join(timeout=60)

    assert not closing.is_alive(), "the embedded AWS waited for the running invocation"
    assert not (marks / "finished").exists()
    [invocation] = aws.runtime.invocations
    assert invocation.error_type == "Runtime.ExitError"


def test_a_function_without_a_declared_log_group_logs_to_aws_lambda_its_name(tmp_path):
    with EmbeddedAws() as aws:
        deployment = aws.deploy(write_assembly(tmp_path, {"Handler": function("always_fail")}), stack_name="Stack")
        name = deployment.resources["Handler"].ref
        aws.client("lambda").invoke(FunctionName=name, Payload=b'{"Records": [{"Sns": {"Message": "hi"}}]}')
        logs = aws.client("logs")
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]

    messages = [event["message"] for event in events]
    assert messages[0].startswith("START RequestId: ")
    assert "[ERROR] RuntimeError: cannot handle hi" in messages
    assert messages[-1].startswith("REPORT RequestId: ")

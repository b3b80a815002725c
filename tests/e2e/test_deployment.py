"""The deployed stack looks, from the AWS APIs, as CloudFormation would leave it."""

import json

import pytest

from pausable_sfn.app.names import STACK_NAME
from pausable_sfn.contracts import fingerprint


def test_stack_outputs_are_published_where_tools_look_for_them(app):
    [stack] = app.aws.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]

    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    assert outputs == app.outputs
    assert set(outputs) == {
        "StateMachineArn",
        "CallAsyncServiceFunctionName",
        "ResumeStepFunctionFunctionName",
        "CallbackTopicArn",
        "LongJobRequestQueueUrl",
        "CallbackDeadLetterQueueUrl",
        "LongJobRequestDeadLetterQueueUrl",
        "ApprovalRequestsTopicArn",
        "ApprovalFunctionName",
        "ApprovalPageUrl",
    }


@pytest.mark.emulator_only(reason="one layer: the embedded stand-in for the public Powertools layer")
def test_the_functions_carry_the_template_configuration(app):
    function = app.aws.client("lambda").get_function(FunctionName=app.output("CallAsyncServiceFunctionName"))
    configuration = function["Configuration"]

    assert configuration["Handler"] == "handlers.call_async_service.handler"
    assert configuration["Runtime"] == "python3.14"
    assert configuration["Environment"]["Variables"]["LONG_JOB_QUEUE_URL"] == app.output("LongJobRequestQueueUrl")
    assert len(configuration["Layers"]) == 1  # the stand-in for the public Powertools layer


def test_the_callback_topic_feeds_the_resume_function_and_the_queue_feeds_the_emulated_job(app):
    subscriptions = app.aws.client("sns").list_subscriptions_by_topic(TopicArn=app.output("CallbackTopicArn"))
    [subscription] = subscriptions["Subscriptions"]
    assert subscription["Protocol"] == "lambda"
    assert subscription["Endpoint"].endswith(f":function:{app.output('ResumeStepFunctionFunctionName')}")

    mappings = app.aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert any(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)


def test_the_state_machine_role_may_invoke_the_call_function(app):
    iam = app.aws.client("iam")
    state_machine = app.sfn.describe_state_machine(stateMachineArn=app.output("StateMachineArn"))
    role = state_machine["roleArn"].split("/")[-1]

    [policy_name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    assert document["Statement"][0]["Action"] == "lambda:InvokeFunction"


@pytest.mark.emulator_only(reason="reads the function's log group from the embedded runtime")
def test_handler_logs_reach_the_function_log_group_without_the_token(app):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token
    app.resume({"taskToken": token})
    app.wait_end(arn)
    group = app.aws.function(app.output("ResumeStepFunctionFunctionName")).log_group

    events = app.aws.client("logs").filter_log_events(logGroupName=group)["events"]

    messages = [event["message"] for event in events]
    assert group.startswith(f"{STACK_NAME}-ResumeStepFunctionLambdaLogs")  # the template's own log group

    resumed = [json.loads(m) for m in messages if m.startswith("{") and "Execution resumed" in m]
    assert any(line.get("task_token") == fingerprint(token) for line in resumed)  # others resumed by key
    assert any(m.startswith("REPORT RequestId:") for m in messages)
    assert not [m for m in messages if token in m]

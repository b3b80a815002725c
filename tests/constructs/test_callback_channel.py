"""CallbackChannel: an encrypted TLS-only topic feeding the resume function, dead letters watched,
and grants that name exactly the topic and the function."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from pausable_sfn.constructs import CallbackChannel

from .conftest import synthesize

OTHER_ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def synthesized():
    app = cdk.App()
    stack = cdk.Stack(app, "Channel")
    channel = CallbackChannel(stack, "Callbacks", log_retention=logs.RetentionDays.ONE_WEEK)
    channel.grant_resume(iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal()))
    channel.grant_resume(iam.AccountPrincipal(OTHER_ACCOUNT))
    channel.grant_resume(
        lambda_.Function(
            stack,
            "Operations",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        )
    )
    channel.grant_callback(iam.Role(stack, "ExternalService", assumed_by=iam.AccountRootPrincipal()))
    machine = sfn.StateMachine(
        stack, "Orders", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Wait"))
    )
    channel.allow_resuming(machine)
    sfn.StateMachine(stack, "Unrelated", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Idle")))
    return synthesize(app, stack)


@pytest.fixture(scope="module")
def ids(synthesized) -> dict[str, str]:
    return {
        "topic": synthesized.logical_id("AWS::SNS::Topic", "CallbacksCallbackToUnpauseSfnTopic"),
        "function": synthesized.logical_id("AWS::Lambda::Function", "CallbacksResumeStepFunctionLambda"),
        "dead_letters": synthesized.logical_id("AWS::SQS::Queue", "CallbacksCallbackDeadLetterQueue"),
        "machine": synthesized.logical_id("AWS::StepFunctions::StateMachine", "Orders"),
    }


def statements(synthesized, role_prefix: str) -> list[dict]:
    [policy] = [
        policy["Properties"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"][0]["Ref"].startswith(role_prefix)
    ]
    return policy["PolicyDocument"]["Statement"]


def topic_statements(synthesized) -> list[dict]:
    [policy] = synthesized.resources("AWS::SNS::TopicPolicy").values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_the_topic_is_encrypted_with_the_aws_managed_key_for_sns(synthesized, ids):
    key = synthesized.raw["Resources"][ids["topic"]]["Properties"]["KmsMasterKeyId"]

    assert key["Fn::Join"][1][-1] == ":alias/aws/sns"


def test_the_topic_refuses_callbacks_sent_without_tls(synthesized, ids):
    assert {
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": "*",
        "Resource": {"Ref": ids["topic"]},
        "Sid": "AllowPublishThroughSSLOnly",
    } in topic_statements(synthesized)


def test_callbacks_published_to_the_topic_reach_the_resume_function(synthesized, ids):
    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": ids["topic"]},
            "Endpoint": {"Fn::GetAtt": [ids["function"], "Arn"]},
        },
    )


def test_the_resume_function_runs_the_packaged_handler_with_the_shared_defaults(synthesized, ids):
    function = synthesized.raw["Resources"][ids["function"]]["Properties"]
    [parameter] = function["Layers"]

    assert function["Handler"] == "handlers.resume_step_function.handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert synthesized.raw["Parameters"][parameter["Ref"]]["Default"].startswith("/aws/service/powertools/python/")
    assert function["Role"]["Fn::GetAtt"][0].startswith("CallbacksResumeStepFunctionLambdaRole")
    group = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesized.raw["Resources"][group]["Properties"]["RetentionInDays"] == 7


def test_what_cannot_be_delivered_or_still_fails_after_two_retries_is_kept_in_the_dead_letter_queue(synthesized, ids):
    dead_letters = {"Fn::GetAtt": [ids["dead_letters"], "Arn"]}

    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"TopicArn": {"Ref": ids["topic"]}, "RedrivePolicy": {"deadLetterTargetArn": dead_letters}},
    )
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": ids["function"]},
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": dead_letters}},
        },
    )


def test_the_dead_letter_queue_is_encrypted_and_alarms_at_its_first_letter(synthesized, ids):
    queue = synthesized.raw["Resources"][ids["dead_letters"]]["Properties"]

    assert queue["SqsManagedSseEnabled"] is True
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [ids["dead_letters"], "QueueName"]}}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_allow_resuming_lets_the_function_send_task_results_to_that_state_machine_only(synthesized, ids):
    sends = [s for s in statements(synthesized, "CallbacksResumeStepFunctionLambdaRole") if "states:" in str(s)]

    assert sends == [
        {
            "Action": ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            "Effect": "Allow",
            "Resource": {"Ref": ids["machine"]},
        }
    ]


@pytest.mark.parametrize("grantee", ["Operator", "OperationsServiceRole"], ids=["a role", "a function"])
def test_grant_resume_names_exactly_the_topic_and_the_function_in_the_grantees_policy(synthesized, ids, grantee):
    assert statements(synthesized, grantee) == [
        {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": ids["topic"]}},
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": [ids["function"], "Arn"]}},
    ]


def test_grant_callback_lets_an_external_service_publish_and_nothing_more(synthesized, ids):
    assert statements(synthesized, "ExternalService") == [
        {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": ids["topic"]}},
    ]


def test_grant_resume_to_another_account_names_it_in_the_topic_policy_and_a_function_permission(synthesized, ids):
    allowed = [
        {key: value for key, value in statement.items() if key != "Sid"}
        for statement in topic_statements(synthesized)
        if statement["Effect"] == "Allow"
    ]

    assert allowed == [
        {
            "Action": "sns:Publish",
            "Effect": "Allow",
            "Principal": {
                "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{OTHER_ACCOUNT}:root"]]}
            },
            "Resource": {"Ref": ids["topic"]},
        }
    ]
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [ids["function"], "Arn"]},
            "Principal": OTHER_ACCOUNT,
        },
    )


THIS_ACCOUNT, ANOTHER_ACCOUNT = "111111111111", "999999999999"
OPERATOR_OF_ANOTHER_ACCOUNT = f"arn:aws:iam::{ANOTHER_ACCOUNT}:role/Operator"


def channel_of_an_account() -> tuple[cdk.Stack, CallbackChannel, iam.IRole]:
    """A channel in a stack of THIS_ACCOUNT, and a role of ANOTHER_ACCOUNT imported by its ARN."""
    stack = cdk.Stack(cdk.App(), "Channel", env=cdk.Environment(account=THIS_ACCOUNT, region="eu-west-1"))
    channel = CallbackChannel(stack, "Callbacks")
    return stack, channel, iam.Role.from_role_arn(stack, "Operator", OPERATOR_OF_ANOTHER_ACCOUNT)


def test_a_role_of_another_account_may_invoke_the_resume_function_by_a_permission_naming_it():
    stack, channel, operator = channel_of_an_account()

    channel.grant_resume(operator)

    template = Template.from_stack(stack)
    function = stack.get_logical_id(channel.resume_function.node.default_child)
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
            "Principal": OPERATOR_OF_ANOTHER_ACCOUNT,
        },
    )
    # Not a policy of this account's template, which could not attach it to another account's role;
    # and not the topic: its AWS managed key admits callers of this account only.
    assert template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": operator.role_name}]}}) == {}
    assert OPERATOR_OF_ANOTHER_ACCOUNT not in json.dumps(template.find_resources("AWS::SNS::TopicPolicy"))
    assert ANOTHER_ACCOUNT not in json.dumps(template.find_resources("AWS::IAM::Policy"))


def test_grant_callback_to_another_accounts_principal_is_refused_saying_why():
    _, channel, operator = channel_of_an_account()

    with pytest.raises(ValueError, match=r"^CallbackChannel 'Callbacks': grant_callback") as refused:
        channel.grant_callback(operator)

    assert f"account {ANOTHER_ACCOUNT}" in str(refused.value)
    assert "alias/aws/sns" in str(refused.value)
    assert "grant_resume" in str(refused.value)

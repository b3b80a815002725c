"""PausableTask(correlation_key=, channel=): the task hands its token to the channel's registrar,
which alone may reach the receiver; the registry, its key and its rules, each grant naming its
resource."""

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pausable_sfn.constructs import CallbackChannel, HumanApproval, KeyInUse, PausableStateMachine, PausableTask

from .conftest import synthesize

HOUR = sfn.Timeout.duration(Duration.hours(1))


def notify_function(stack: cdk.Stack) -> lambda_.Function:
    return lambda_.Function(
        stack,
        "Notify",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


@pytest.fixture(scope="module")
def synthesized():
    app = cdk.App()
    stack = cdk.Stack(app, "Keyed")
    channel = CallbackChannel(stack, "Callbacks", early_callback_window=Duration.minutes(2))
    # Granted before any task has a key: the EventBridge grant follows once the registry exists.
    channel.grant_callback(iam.Role(stack, "Warehouse", assumed_by=iam.AccountRootPrincipal()))
    queue_key = kms.Key(stack, "ReviewKey", enable_key_rotation=True)
    approve = PausableTask(
        stack,
        "Approve order",
        function=notify_function(stack),
        timeout=HOUR,
        payload={"orderId": sfn.JsonPath.string_at("$.order.id")},
        correlation_key="$.order.id",
        channel=channel,
    )
    review = PausableTask(
        stack,
        "Review",
        queue=sqs.Queue(stack, "Reviews", encryption=sqs.QueueEncryption.KMS, encryption_master_key=queue_key),
        timeout=HOUR,
        correlation_key=sfn.JsonPath.format("review-{}", sfn.JsonPath.string_at("$.order.id")),
        channel=channel,
    )
    payment = PausableTask(
        stack,
        "Await payment",
        timeout=HOUR,
        correlation_key="$.paymentId",
        channel=channel,
        on_key_in_use=KeyInUse.QUEUE,
    )
    PausableStateMachine(stack, "Orders", definition=approve.next(review).next(payment))
    jsonata_wait = PausableTask(
        stack,
        "Await shipment",
        timeout=HOUR,
        correlation_key="{% $states.input.shipment %}",
        channel=channel,
        query_language=sfn.QueryLanguage.JSONATA,
    )
    PausableStateMachine(stack, "Shipping", definition=jsonata_wait, query_language=sfn.QueryLanguage.JSONATA)
    return synthesize(app, stack)


def registrar_id(synthesized) -> str:
    return synthesized.logical_id("AWS::Lambda::Function", "CallbacksRegisterCorrelationKeyLambda")


def policies_of(synthesized, role_prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if any(role["Ref"].startswith(role_prefix) for role in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_a_keyed_task_invokes_the_registrar_with_its_token_key_scope_and_payload(synthesized):
    state = synthesized.definition("Orders")["States"]["Approve order"]

    assert state["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    parameters = state["Parameters"]
    assert parameters["FunctionName"] == f"<{registrar_id(synthesized)}.Arn>"
    payload = parameters["Payload"]
    assert payload["taskToken.$"] == "$$.Task.Token"
    assert payload["correlationKey.$"] == "$.order.id"
    assert payload["stateMachine.$"] == "$$.StateMachine.Id"
    assert payload["state.$"] == "$$.State.Name"
    assert payload["keyInUseError"] == "ApproveOrderKeyInUse"
    assert "onKeyInUse" not in payload  # it fails on a key in use: the registrar's default
    assert payload["timeoutSeconds"] == 3600
    assert payload["receiver"] == {"function": f"<{synthesized.logical_id('AWS::Lambda::Function', 'Notify')}.Arn>"}
    # The receiver's own fields travel apart from the token, which the registrar never hands on.
    assert payload["payload"] == {"orderId.$": "$.order.id"}


def test_a_key_may_be_an_intrinsic_and_a_task_with_a_key_may_only_wait(synthesized):
    states = synthesized.definition("Orders")["States"]

    assert states["Review"]["Parameters"]["Payload"]["correlationKey.$"] == "States.Format('review-{}', $.order.id)"
    waiting = states["Await payment"]["Parameters"]["Payload"]
    assert waiting["correlationKey.$"] == "$.paymentId"
    assert "receiver" not in waiting


def test_a_keyed_task_registers_again_when_the_registrar_could_not_reach_aws_for_a_while(synthesized):
    retries = synthesized.definition("Orders")["States"]["Approve order"]["Retry"]

    assert {"ErrorEquals": ["RegistryUnavailable"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3} in retries


def test_a_task_that_queues_on_a_key_in_use_tells_the_registrar_so(synthesized):
    payload = synthesized.definition("Orders")["States"]["Await payment"]["Parameters"]["Payload"]

    assert payload["onKeyInUse"] == "queue"


def test_a_jsonata_task_reads_its_key_and_scope_from_expressions(synthesized):
    arguments = synthesized.definition("Shipping")["States"]["Await shipment"]["Arguments"]["Payload"]

    assert arguments["correlationKey"] == "{% $states.input.shipment %}"
    assert arguments["stateMachine"] == "{% $states.context.StateMachine.Id %}"
    assert arguments["taskToken"] == "{% $states.context.Task.Token %}"


def test_only_the_registrar_may_reach_each_receiver_and_only_that_receiver(synthesized):
    statements = policies_of(synthesized, "CallbacksRegisterCorrelationKeyLambdaRole")
    notify = synthesized.logical_id("AWS::Lambda::Function", "Notify")
    queue = synthesized.logical_id("AWS::SQS::Queue", "Reviews")
    key = synthesized.logical_id("AWS::KMS::Key", "ReviewKey")

    assert {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": [notify, "Arn"]}} in (
        statements
    )
    assert {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [queue, "Arn"]}} in statements
    assert {
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [key, "Arn"]},
    } in statements
    # The state machines' roles invoke the registrar, and no receiver.
    for machine in ("Orders", "Shipping"):
        machine_id = synthesized.logical_id("AWS::StepFunctions::StateMachine", machine)
        role = synthesized.raw["Resources"][machine_id]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        invoked = [s["Resource"] for s in policies_of(synthesized, role) if "lambda:InvokeFunction" in actions(s)]
        assert all(registrar_id(synthesized) in str(resource) for resource in invoked)
        assert invoked


def test_every_grant_of_the_registry_names_its_resource(synthesized):
    for role in ("RegisterCorrelationKeyLambda", "CorrelationJanitorLambda", "ResumeStepFunctionLambda"):
        for statement in policies_of(synthesized, f"Callbacks{role}Role") + policies_of(
            synthesized, f"Callbacks{role}Role"
        ):
            if actions(statement) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}:
                continue
            assert statement["Resource"] != "*", statement


def test_the_registrar_closes_tasks_of_the_watched_state_machines_only(synthesized):
    statements = policies_of(synthesized, "CallbacksRegisterCorrelationKeyLambdaRole")
    closing = [s for s in statements if "states:SendTaskFailure" in actions(s)]
    machines = {synthesized.logical_id("AWS::StepFunctions::StateMachine", name) for name in ("Orders", "Shipping")}

    assert {s["Resource"]["Ref"] for s in closing} == machines
    for statement in closing:
        assert actions(statement) == {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}


def test_the_registry_keeps_tokens_encrypted_and_drops_leftovers(synthesized):
    [table] = synthesized.resources("AWS::DynamoDB::Table").values()
    [key] = [k for i, k in synthesized.resources("AWS::KMS::Key").items() if i.startswith("CallbacksCorrelation")]

    properties = table["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "correlationKey", "KeyType": "HASH"},
        {"AttributeName": "entry", "KeyType": "RANGE"},
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "deleteAfter", "Enabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    [index] = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ByExecution"
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert key["Properties"]["EnableKeyRotation"] is True


def test_only_the_registrar_encrypts_and_only_the_channel_decrypts_tokens(synthesized):
    def kms_actions(role: str) -> set[str]:
        return {a for s in policies_of(synthesized, role) for a in actions(s) if a.startswith("kms:")}

    assert kms_actions("CallbacksRegisterCorrelationKeyLambdaRole") >= {"kms:Encrypt", "kms:Decrypt"}
    assert kms_actions("CallbacksResumeStepFunctionLambdaRole") == {"kms:Decrypt"}
    assert kms_actions("CallbacksCorrelationJanitorLambdaRole") == set()


def test_callback_events_of_the_named_source_reach_the_resume_function_with_dead_letters(synthesized):
    rules = synthesized.resources("AWS::Events::Rule")
    [callbacks] = [rule["Properties"] for rule_id, rule in rules.items() if rule_id.startswith("CallbacksCorrelation")]

    assert callbacks["EventPattern"] == {"source": ["pausable-sfn.callbacks"], "detail-type": ["Task Callback"]}
    [target] = callbacks["Targets"]
    assert target["Arn"] == {
        "Fn::GetAtt": [synthesized.logical_id("AWS::Lambda::Function", "CallbacksResumeStepFunctionLambda"), "Arn"]
    }
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2}
    assert "DeadLetterConfig" in target


def test_the_janitor_hears_of_the_end_of_each_watched_state_machines_executions(synthesized):
    rules = synthesized.resources("AWS::Events::Rule")
    ended = [rule["Properties"] for rule_id, rule in rules.items() if rule_id.startswith("OrdersExecutionEnded")]

    [rule] = ended
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [{"Ref": synthesized.logical_id("AWS::StepFunctions::StateMachine", "Orders")}],
            "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
        },
    }
    [rule_id] = [rule_id for rule_id in rules if rule_id.startswith("OrdersExecutionEnded")]
    janitor = synthesized.logical_id("AWS::Lambda::Function", "CallbacksCorrelationJanitorLambda")
    permissions = [
        p["Properties"]
        for p in synthesized.resources("AWS::Lambda::Permission").values()
        if p["Properties"].get("SourceArn") == {"Fn::GetAtt": [rule_id, "Arn"]}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [janitor, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_a_callback_sender_may_put_events_of_the_channels_source_only(synthesized):
    statements = policies_of(synthesized, "Warehouse")

    [put_events] = [s for s in statements if "events:PutEvents" in actions(s)]
    assert put_events["Condition"] == {
        "StringEquals": {"events:source": "pausable-sfn.callbacks", "events:detail-type": "Task Callback"}
    }
    assert "event-bus/default" in str(put_events["Resource"])


def test_the_window_reaches_the_functions_that_hold_and_expire_callbacks(synthesized):
    functions = synthesized.resources("AWS::Lambda::Function")
    windows = {
        function_id: function["Properties"]["Environment"]["Variables"].get("EARLY_CALLBACK_WINDOW_SECONDS")
        for function_id, function in functions.items()
        if function_id.startswith("Callbacks")
    }

    assert set(windows.values()) == {"120"}


def test_a_channel_whose_tasks_wait_by_token_has_no_registry():
    app = cdk.App()
    stack = cdk.Stack(app, "ByToken")
    channel = CallbackChannel(stack, "Callbacks")
    task = PausableTask(stack, "Approve", function=notify_function(stack), timeout=HOUR)
    PausableStateMachine(stack, "Orders", definition=task, channels=[channel])

    template = synthesize(app, stack)

    assert template.resources("AWS::DynamoDB::Table") == {}
    assert template.resources("AWS::KMS::Key") == {}
    assert template.resources("AWS::Events::Rule") == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"correlation_key": "$.id"}, "correlation_key needs channel="),
        ({"channel": "channel"}, "channel goes with correlation_key"),
        ({"correlation_key": "order.id", "channel": "channel"}, r"must be a JSONPath \(like \$\.order\.id\)"),
        ({"correlation_key": "$.id", "channel": "channel", "approval": "approval"}, "cannot go with approval"),
        ({"on_key_in_use": KeyInUse.QUEUE}, "on_key_in_use goes with correlation_key"),
        (
            {"correlation_key": "$.id", "channel": "channel", "on_key_in_use": "queue"},
            "KeyInUse.FAIL or KeyInUse.QUEUE",
        ),
        (
            {"correlation_key": "$.id", "channel": "channel", "query_language": sfn.QueryLanguage.JSONATA},
            "must be a JSONata expression",
        ),
    ],
)
def test_a_key_that_cannot_work_is_refused_at_synth(options, message):
    app = cdk.App()
    stack = cdk.Stack(app, "Refused")
    given = {
        "channel": CallbackChannel(stack, "Callbacks"),
        "approval": HumanApproval(stack, "Approval"),
    }
    arguments = {name: given.get(value, value) if isinstance(value, str) else value for name, value in options.items()}
    if "approval" not in arguments:
        arguments["function"] = notify_function(stack)

    with pytest.raises(ValueError, match=message):
        PausableTask(stack, "Approve", timeout=HOUR, **arguments)


def test_a_task_without_a_key_still_needs_a_receiver():
    stack = cdk.Stack(cdk.App(), "NoReceiver")

    with pytest.raises(ValueError, match="give exactly one of function, queue, topic or approval"):
        PausableTask(stack, "Approve", timeout=HOUR)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"early_callback_window": Duration.minutes(16)}, "early_callback_window must be whole seconds from 0 to 900"),
        ({"early_callback_window": Duration.millis(1500)}, "early_callback_window must be whole seconds"),
        ({"event_source": "aws.partner"}, "reserved for AWS services"),
    ],
)
def test_a_channel_refuses_a_window_or_source_that_cannot_work(options, message):
    with pytest.raises(ValueError, match=message):
        CallbackChannel(cdk.Stack(cdk.App(), "Channel"), "Callbacks", **options)


def test_tasks_of_two_channels_in_one_state_machine_each_get_their_registry_watching_it():
    app = cdk.App()
    stack = cdk.Stack(app, "TwoChannels")
    first, second = CallbackChannel(stack, "Payments"), CallbackChannel(stack, "Shipments")
    paid = PausableTask(stack, "Await payment", timeout=HOUR, correlation_key="$.paymentId", channel=first)
    shipped = PausableTask(stack, "Await shipment", timeout=HOUR, correlation_key="$.parcelId", channel=second)
    PausableStateMachine(stack, "Orders", definition=paid.next(shipped))

    template = synthesize(app, stack)

    rules = [rule_id for rule_id in template.resources("AWS::Events::Rule") if rule_id.startswith("OrdersExecution")]
    assert len(rules) == 2


def test_a_channel_of_another_stack_serves_keyed_tasks_without_a_dependency_cycle():
    app = cdk.App()
    shared = cdk.Stack(app, "Shared")
    channel = CallbackChannel(shared, "Callbacks")
    orders = cdk.Stack(app, "Orders")
    task = PausableTask(
        orders, "Pack", function=notify_function(orders), timeout=HOUR, correlation_key="$.id", channel=channel
    )
    PausableStateMachine(orders, "Machine", definition=task)

    assembly = app.synth()  # CDK refuses a cycle between two stacks here

    assert orders.dependencies == [shared]
    assert shared.dependencies == []
    assert assembly.get_stack_by_name("Orders").template["Resources"]

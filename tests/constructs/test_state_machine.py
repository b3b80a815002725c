"""PausableStateMachine: logged without execution data, traced, resumable by its channels, and an
app made of the three constructs passes cdk-nag's AWS Solutions rules with no suppression of its own."""

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from pausable_sfn.constructs import CallbackChannel, FunctionFactory, PausableStateMachine, PausableTask
from pausable_sfn.constructs.nag import acknowledge

from ..templates import Synthesized

AN_HOUR = sfn.Timeout.duration(Duration.hours(1))


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """A user's app: one channel for two state machines, three pausable tasks, cdk-nag on every synth."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Orders")
    channel = CallbackChannel(stack, "Callbacks")
    functions = FunctionFactory(stack, log_retention=logs.RetentionDays.ONE_WEEK)
    ask_approver, ask_countersigner = (
        functions.create(name, handler="call_async_service", description=f"{name}: hands the token on")
        for name in ("AskApprover", "AskCountersigner")
    )
    approve = PausableTask(stack, "Approve order", function=ask_approver, timeout=AN_HOUR)
    countersign = PausableTask(stack, "Countersign", function=ask_countersigner, timeout=AN_HOUR)
    PausableStateMachine(
        stack,
        "Approvals",
        definition=approve.next(countersign).next(sfn.Pass(stack, "Ship")),
        channels=[channel],
        comment="Waits for two people",
        log_retention=logs.RetentionDays.ONE_WEEK,
    )
    people = sns.Topic(
        stack, "People", enforce_ssl=True, master_key=kms.Alias.from_alias_name(stack, "SnsKey", "alias/aws/sns")
    )
    PausableStateMachine(
        stack,
        "Returns",
        definition=PausableTask(stack, "Accept return", topic=people, timeout=AN_HOUR),
        channels=[channel],
    )
    return synthesize_despite_findings(app, stack)


def synthesize_despite_findings(app: cdk.App, stack: cdk.Stack) -> Synthesized:
    """The synth writes the templates and the report before cdk-nag's findings fail it: a finding
    then fails the nag tests with the report's words, not every test of the module."""
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    outdir = Path(app.outdir)
    raw = json.loads((outdir / stack.template_file).read_text())
    return Synthesized(Template.from_json(raw), raw, outdir)


@pytest.fixture(scope="module")
def nag_report(synthesized) -> dict:
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    [plugin] = report["pluginReports"]
    return plugin


def machine_id(synthesized, name: str) -> str:
    return synthesized.logical_id("AWS::StepFunctions::StateMachine", name)


def test_is_a_standard_state_machine_traced_and_logging_every_event_without_execution_data(synthesized):
    machine = synthesized.raw["Resources"][machine_id(synthesized, "Approvals")]["Properties"]
    group = synthesized.logical_id("AWS::Logs::LogGroup", "ApprovalsExecutionLogs")

    assert machine["StateMachineType"] == "STANDARD"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [group, "Arn"]}}}],
        "IncludeExecutionData": False,
        "Level": "ALL",
    }
    assert synthesized.raw["Resources"][group]["Properties"]["RetentionInDays"] == 7
    assert synthesized.definition("Approvals")["Comment"] == "Waits for two people"


def test_the_state_machine_keeps_the_logical_id_a_plain_state_machine_would_have_in_its_place(synthesized):
    plain = cdk.Stack(cdk.App(), "Orders")
    state_machine = sfn.StateMachine(
        plain, "Approvals", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(plain, "Ship"))
    )

    assert machine_id(synthesized, "Approvals") == plain.get_logical_id(state_machine.node.default_child)


def test_each_channel_may_send_task_results_to_each_of_its_state_machines(synthesized):
    [policy] = [
        policy["Properties"]["PolicyDocument"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"][0]["Ref"].startswith("CallbacksResumeStepFunctionLambdaRole")
    ]

    sends = [statement for statement in policy["Statement"] if "states:SendTaskSuccess" in statement["Action"]]
    assert [statement["Resource"] for statement in sends] == [
        {"Ref": machine_id(synthesized, "Approvals")},
        {"Ref": machine_id(synthesized, "Returns")},
    ]
    assert all(
        statement["Action"] == ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
        for statement in sends
    )


def test_the_state_machine_depends_on_its_role_policy_only(synthesized):
    # Its Fn::GetAtt of the role is the dependency on the role already (cfn-lint W3005).
    machine = synthesized.raw["Resources"][machine_id(synthesized, "Approvals")]

    assert machine["DependsOn"] == [synthesized.logical_id("AWS::IAM::Policy", "ApprovalsRoleDefaultPolicy")]


def test_an_app_made_of_the_constructs_has_no_cdk_nag_finding(nag_report):
    assert nag_report["pluginName"] == "AwsSolutions"
    assert nag_report["violations"] == []
    assert nag_report["conclusion"] == "success"


def test_the_role_findings_are_acknowledged_on_the_role_policy_one_per_function_a_task_invokes(synthesized, nag_report):
    policy = "Orders/Approvals/Default/Role/DefaultPolicy"
    functions = [synthesized.logical_id("AWS::Lambda::Function", name) for name in ("AskApprover", "AskCountersigner")]

    acknowledged = {
        finding["ruleName"] for finding in nag_report["suppressedViolations"] if finding["acknowledgedAt"] == policy
    }

    assert acknowledged == {
        "AwsSolutions-IAM5[Resource::*]",
        *(f"AwsSolutions-IAM5[Resource::<{function}.Arn>:*]" for function in functions),
    }


def test_every_acknowledgement_is_on_one_resource_and_argued(nag_report):
    for finding in nag_report["suppressedViolations"]:
        at = finding["acknowledgedAt"]
        assert at.count("/") >= 2, f"{finding['ruleName']} is acknowledged for a whole stack or construct: {at}"
        assert all(c["constructPath"].startswith(f"{at}/") for c in finding["violatingConstructs"])
        assert len(finding["reason"]) >= 40, f"{finding['ruleName']} at {at}: the reason is too thin"


@pytest.fixture(scope="module")
def shared_channel_app(tmp_path_factory) -> tuple[Synthesized, dict]:
    """A channel in a stack of its own, `Shared`, resuming a state machine of the stack `Orders`."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    shared = cdk.Stack(app, "Shared")
    channel = CallbackChannel(shared, "Callbacks")
    orders = cdk.Stack(app, "Orders")
    functions = FunctionFactory(orders, log_retention=logs.RetentionDays.ONE_WEEK)
    notify = functions.create("Notify", handler="call_async_service", description="Hands the token on")
    channel.grant_callback(notify)  # so Orders depends on Shared, as any user of the channel's topic does
    PausableStateMachine(
        orders,
        "Approvals",
        definition=PausableTask(orders, "Approve order", function=notify, timeout=AN_HOUR),
        channels=[channel],
    )
    app.synth()  # a dependency cycle between the stacks, or a cdk-nag finding, fails it
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    return synthesize_despite_findings(app, orders), report


def test_a_channel_of_another_stack_is_let_in_by_a_policy_in_the_state_machines_stack(shared_channel_app):
    orders, report = shared_channel_app
    machine = machine_id(orders, "Approvals")

    [policy] = [
        policy["Properties"]
        for policy in orders.resources("AWS::IAM::Policy").values()
        if "states:SendTaskSuccess" in json.dumps(policy)
    ]

    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            "Effect": "Allow",
            "Resource": {"Ref": machine},
        }
    ]
    [role] = policy["Roles"]
    assert "CallbacksResumeStepFunctionLambdaRole" in json.dumps(role)  # imported from the stack Shared
    [plugin] = report["pluginReports"]
    assert (plugin["violations"], plugin["conclusion"]) == ([], "success")


@pytest.fixture(scope="module")
def customer_keys(tmp_path_factory) -> tuple[Synthesized, dict]:
    """A topic and a queue, each encrypted with a customer managed key of the app, a task for each."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Keys")
    topic_key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    queue_key = kms.Key(stack, "QueueKey", enable_key_rotation=True)
    people = sns.Topic(stack, "People", enforce_ssl=True, master_key=topic_key)
    unread = sqs.Queue(stack, "Unread", enforce_ssl=True, encryption_master_key=queue_key)
    acknowledge(unread, "AwsSolutions-SQS3", "The test's dead-letter queue: a redrive target, not a redriven queue.")
    reviews = sqs.Queue(
        stack,
        "Reviews",
        enforce_ssl=True,
        encryption_master_key=queue_key,
        dead_letter_queue=sqs.DeadLetterQueue(queue=unread, max_receive_count=3),
    )
    ask = PausableTask(stack, "Ask a person", topic=people, timeout=AN_HOUR)
    review = PausableTask(stack, "Review", queue=reviews, timeout=AN_HOUR)
    PausableStateMachine(stack, "Returns", definition=ask.next(review))
    synthesized = synthesize_despite_findings(app, stack)
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    [plugin] = report["pluginReports"]
    return synthesized, plugin


def test_publishing_to_a_topic_with_a_customer_managed_key_may_use_exactly_that_key(customer_keys):
    synthesized, _ = customer_keys
    [policy] = [
        policy["Properties"]["PolicyDocument"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"][0]["Ref"].startswith("ReturnsRole")
    ]
    keys = {"TopicKey": synthesized.logical_id("AWS::KMS::Key", "TopicKey")}
    keys["QueueKey"] = synthesized.logical_id("AWS::KMS::Key", "QueueKey")

    kms_statements = [statement for statement in policy["Statement"] if "kms:" in json.dumps(statement["Action"])]

    topic_key = {"Fn::GetAtt": [keys["TopicKey"], "Arn"]}
    [for_topic] = [statement for statement in kms_statements if statement["Resource"] == topic_key]
    assert sorted(for_topic["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # SqsSendMessage grants the queue's key itself: the same actions, on the other key only.
    assert {json.dumps(statement["Resource"]) for statement in kms_statements} == {
        json.dumps({"Fn::GetAtt": [keys[name], "Arn"]}) for name in ("TopicKey", "QueueKey")
    }


def test_the_kms_action_wildcard_is_acknowledged_naming_the_keys(customer_keys):
    _, plugin = customer_keys

    assert (plugin["violations"], plugin["conclusion"]) == ([], "success")
    [finding] = [
        finding
        for finding in plugin["suppressedViolations"]
        if finding["ruleName"] == "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]"
    ]
    assert finding["acknowledgedAt"] == "Keys/Returns/Default/Role/DefaultPolicy"
    assert "Keys/TopicKey" in finding["reason"]
    assert "Keys/QueueKey" in finding["reason"]


def test_a_statement_of_the_users_own_on_every_resource_is_reported_not_hidden(tmp_path):
    # The acknowledgement of Resource "*" covers X-Ray and log delivery only; a task that may call
    # an API on every resource is the user's to argue.
    app = cdk.App(outdir=str(tmp_path))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Wide")
    describe_everything = tasks.CallAwsService(
        stack,
        "Describe every instance",
        service="ec2",
        action="describeInstances",
        iam_resources=["*"],
    )
    queue = sqs.Queue(stack, "Jobs", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
    acknowledge(queue, "AwsSolutions-SQS3", "A test queue: its dead letters are not what this test is about.")
    job = PausableTask(stack, "Run job", queue=queue, timeout=AN_HOUR)
    PausableStateMachine(stack, "Jobs Machine", definition=describe_everything.next(job))

    synthesize_despite_findings(app, stack)

    [plugin] = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert "AwsSolutions-IAM5[Resource::*]" in [violation["ruleName"] for violation in plugin["violations"]]

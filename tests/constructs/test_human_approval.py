"""HumanApproval: a page behind a function URL that decides, a table of records, a topic of requests;
a PausableTask with `approval=` asks a person through it, and the state machine lets it decide."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, Validations
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import AwsSolutionsChecks

from pausable_sfn.constructs import HumanApproval, PausableStateMachine, PausableTask

from .conftest import synthesize
from .test_state_machine import synthesize_despite_findings


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    """One approval for two state machines of a stack; cdk-nag on the synth."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Orders")
    approvals = HumanApproval(stack, "Approvers", link_lifetime=Duration.hours(8))
    approve = PausableTask(
        stack,
        "Approve order",
        approval=approvals,
        payload={"order.$": "$.order", "note": "Orders over 1000 need a second look"},
        timeout=sfn.Timeout.at("$.approvalSeconds"),
    )
    PausableStateMachine(stack, "Sales", definition=approve.next(sfn.Pass(stack, "Ship")))
    refund = PausableTask(stack, "Approve refund", approval=approvals, timeout=sfn.Timeout.duration(Duration.days(2)))
    PausableStateMachine(stack, "Refunds", definition=refund)
    return synthesize_despite_findings(app, stack)


@pytest.fixture(scope="module")
def returns():
    """The approval of one stack deciding the tasks of a state machine of another."""
    app = cdk.App()
    approvals = HumanApproval(cdk.Stack(app, "Approvals"), "Approvers")
    stack = cdk.Stack(app, "Returns")
    task = PausableTask(stack, "Approve refund", approval=approvals, timeout=sfn.Timeout.duration(Duration.days(2)))
    PausableStateMachine(stack, "Refunds", definition=task)
    return synthesize(app, stack)


def nag_reports(synthesized) -> list[dict]:
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    return report["pluginReports"]


def test_an_app_with_approvals_has_no_cdk_nag_finding(orders):
    [plugin] = nag_reports(orders)
    assert plugin["violations"] == []
    assert plugin["conclusion"] == "success"


def test_the_approval_task_sends_the_token_where_and_since_when_it_waits_and_the_payload_as_summary(orders):
    task = orders.definition("Sales")["States"]["Approve order"]
    function = orders.logical_id("AWS::Lambda::Function", "ApproversRequestApprovalLambda")

    assert task["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"] == {
        "FunctionName": f"<{function}.Arn>",
        "Payload": {
            "taskToken.$": "$$.Task.Token",
            "executionId.$": "$$.Execution.Id",
            "stateName.$": "$$.State.Name",
            "pausedAt.$": "$$.State.EnteredTime",
            "timeoutSeconds.$": "$.approvalSeconds",
            "summary": {"order.$": "$.order", "note": "Orders over 1000 need a second look"},
        },
    }


def test_the_page_is_a_public_function_url_with_bounded_concurrency(orders):
    page = orders.logical_id("AWS::Lambda::Function", "ApproversApprovalPageLambda")

    orders.template.has_resource_properties(
        "AWS::Lambda::Url", {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": [page, "Arn"]}}
    )
    assert orders.resources("AWS::Lambda::Function")[page]["Properties"]["ReservedConcurrentExecutions"] == 10


def test_the_request_function_knows_the_table_topic_page_and_link_lifetime(orders):
    function = orders.resources("AWS::Lambda::Function")[
        orders.logical_id("AWS::Lambda::Function", "ApproversRequestApprovalLambda")
    ]
    variables = function["Properties"]["Environment"]["Variables"]

    assert variables["LINK_LIFETIME_SECONDS"] == "28800"
    assert variables["APPROVAL_PAGE_URL"] == {
        "Fn::GetAtt": [orders.logical_id("AWS::Lambda::Url", "ApproversApprovalPageLambdaFunctionUrl"), "FunctionUrl"]
    }
    assert set(variables) >= {"APPROVAL_TABLE", "APPROVAL_TOPIC_ARN"}


def test_records_expire_and_can_be_recovered(orders):
    orders.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TimeToLiveSpecification": {"AttributeName": "deleteAfter", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_each_state_machine_lets_the_page_decide_its_own_tasks_only(orders):
    page_role = orders.logical_id("AWS::IAM::Role", "ApproversApprovalPageLambdaRole")
    decided = sorted(
        json.dumps(statement["Resource"])
        for policy in orders.resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"] == [{"Ref": page_role}]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == ["states:SendTaskSuccess", "states:SendTaskFailure"]
    )
    machines = [orders.logical_id("AWS::StepFunctions::StateMachine", name) for name in ("Sales", "Refunds")]
    assert decided == sorted(json.dumps({"Ref": machine}) for machine in machines)


def test_a_state_machine_of_another_stack_is_let_in_by_a_policy_of_its_own_stack(returns):
    [policy] = [
        resource["Properties"]
        for resource in returns.resources("AWS::IAM::Policy").values()
        if any(
            "states:SendTaskSuccess" in json.dumps(statement)
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        )
        and "ApprovalPage" in json.dumps(resource["Properties"]["Roles"])
    ]
    assert policy["PolicyDocument"]["Statement"][0]["Resource"] == {
        "Ref": returns.logical_id("AWS::StepFunctions::StateMachine", "Refunds")
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"link_lifetime": Duration.seconds(30)}, "link_lifetime must be a minute or more"),
        ({"page_concurrency": 0}, "page_concurrency must be 1 or more, or None"),
    ],
)
def test_props_that_cannot_work_are_refused(props, message):
    stack = cdk.Stack(cdk.App(), "Refused")
    with pytest.raises(ValueError, match=message):
        HumanApproval(stack, "Approvers", **props)


def test_no_reserved_concurrency_when_the_account_has_none_to_spare():
    app = cdk.App()
    stack = cdk.Stack(app, "Small")
    HumanApproval(stack, "Approvers", page_concurrency=None)

    template = app.synth().get_stack_by_name("Small").template
    pages = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "approval_page" in r["Properties"]["Handler"]
    ]
    assert "ReservedConcurrentExecutions" not in pages[0]["Properties"]


def test_a_heartbeat_cannot_go_with_a_person():
    stack = cdk.Stack(cdk.App(), "Refused")
    approvals = HumanApproval(stack, "Approvers")

    with pytest.raises(ValueError, match="heartbeat cannot go with approval: a person sends no heartbeats"):
        PausableTask(
            stack,
            "Approve",
            approval=approvals,
            timeout=sfn.Timeout.duration(Duration.days(1)),
            heartbeat=Duration.minutes(5),
        )

"""EventBridge rules deployed from a template, and their Lambda targets invoked as EventBridge
invokes them: asynchronously, with the target's input, and only while the rule is enabled."""

import json

import pytest

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

from .test_events import function, write_assembly

HANDLERS = """
import json

def record(event, context):
    print("received " + json.dumps(event, sort_keys=True))
"""
PAYMENTS = {"source": ["shop.payments"], "detail-type": ["PaymentSettled"]}


def rule(pattern: dict, *targets: dict, **properties) -> dict:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {"EventPattern": pattern, "Targets": list(targets), **properties},
    }


def target(target_id: str, **properties) -> dict:
    return {"Id": target_id, "Arn": {"Fn::GetAtt": ["Recorder", "Arn"]}, **properties}


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory):
    resources = {
        "Recorder": function("record"),
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "shop"}},
        "Whole": rule(PAYMENTS, target("whole")),
        "Detail": rule(PAYMENTS, target("detail", InputPath="$.detail")),
        "Constant": rule(PAYMENTS, target("constant", Input='{"fixed": true}')),
        "Transformed": rule(
            PAYMENTS,
            target(
                "transformed",
                InputTransformer={"InputPathsMap": {"id": "$.detail.paymentId"}, "InputTemplate": '{"payment": <id>}'},
            ),
        ),
        "Text": rule(
            PAYMENTS,
            target(
                "text",
                InputTransformer={"InputPathsMap": {"id": "$.detail.paymentId"}, "InputTemplate": "<id> is settled"},
            ),
        ),
        "Mixed": rule(
            PAYMENTS,
            target(
                "mixed",
                InputTransformer={
                    "InputPathsMap": {"id": "$.detail.paymentId", "cents": "$.detail.lines[0].cents"},
                    "InputTemplate": '{"line": <cents>, "note": "<id> settled", "rule": "<aws.events.rule-name>"}',
                },
            ),
        ),
        "Disabled": rule({"source": ["shop.refunds"]}, target("disabled"), State="DISABLED"),
        "OnItsBus": rule({"source": ["shop.orders"]}, target("bus"), EventBusName={"Ref": "Bus"}),
        "Executions": rule(
            {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}, target("executions")
        ),
    }
    assembly = write_assembly(tmp_path_factory.mktemp("eventbridge"), resources, HANDLERS)
    with EmbeddedAws() as embedded:
        [recorder] = embedded.deploy(assembly).functions
        embedded.recorder_logs = recorder.log_group  # type: ignore[attr-defined]
        yield embedded


def received(aws: EmbeddedAws, marker: str, count: int) -> list[dict]:
    """The events the recorder printed that hold `marker`, once there are `count` of them."""

    def found() -> list[dict] | None:
        lines = [line.removeprefix("received ").strip() for line in printed(aws) if line.startswith("received ")]
        mine = [json.loads(line) for line in lines if marker in line]
        return mine if len(mine) >= count else None

    return wait_until(found, what=f"{count} events with {marker}", clock=aws.clock)


def put(aws: EmbeddedAws, source: str, detail: dict, bus: str = "default") -> None:
    entry = {"Source": source, "DetailType": "PaymentSettled", "Detail": json.dumps(detail), "EventBusName": bus}
    answer = aws.client("events").put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0


def test_each_target_of_a_matching_rule_gets_its_own_input(aws):
    put(aws, "shop.payments", {"paymentId": "pay-1", "lines": [{"cents": 1250}]})

    got = received(aws, "pay-1", 5) + received(aws, '"fixed"', 1)

    detail = {"paymentId": "pay-1", "lines": [{"cents": 1250}]}
    whole = next(event for event in got if isinstance(event, dict) and "detail-type" in event)
    assert (whole["source"], whole["detail"]) == ("shop.payments", detail)
    assert detail in got  # InputPath $.detail
    assert {"payment": "pay-1"} in got  # InputTransformer: a string outside quotes gets its own
    assert "pay-1 is settled" in got  # a template that is not JSON: each value as its text
    [mixed] = [event for event in got if isinstance(event, dict) and "line" in event]
    assert mixed["line"] == 1250
    assert mixed["note"] == "pay-1 settled"
    assert "Mixed" in mixed["rule"]  # the rule's name, a predefined variable
    assert {"fixed": True} in got  # Input


def test_an_event_that_matches_no_enabled_rule_invokes_nothing(aws):
    put(aws, "shop.refunds", {"refundId": "ref-1"})  # only the disabled rule matches
    put(aws, "shop.payments", {"paymentId": "pay-2"})  # then one that does, as a marker of delivery

    received(aws, "pay-2", 5)

    assert not any("ref-1" in line for line in printed(aws))


def test_a_rule_on_a_bus_of_the_stack_gets_the_events_put_on_that_bus(aws):
    put(aws, "shop.orders", {"orderId": "ord-1"}, bus="shop")

    [event] = received(aws, "ord-1", 1)

    assert event["detail"] == {"orderId": "ord-1"}


def printed(aws: EmbeddedAws) -> list[str]:
    """Every line the recorder printed so far."""
    logs = aws.client("logs")
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=aws.recorder_logs)
        return [event["message"] for page in pages for event in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []  # nothing printed yet


def test_a_standard_execution_sends_its_start_and_its_end_to_eventbridge_as_step_functions_does(aws):
    # "the detail section ... the same information as the DescribeExecution API" (Step Functions
    # developer guide, EventBridge events for execution status changes). Gap 40.
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
    machine = sfn.create_state_machine(
        name="status-events", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/any"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="order-7", input='{"order": 7}')["executionArn"]

    # Sent in order, but each reaches the Lambda target by its own asynchronous invocation, and
    # EventBridge does not promise to deliver events in the order they were put.
    events = received(aws, execution, 2)
    by_status = {event["detail"]["status"]: event for event in events}

    assert sorted(by_status) == ["RUNNING", "SUCCEEDED"]
    started, ended = by_status["RUNNING"], by_status["SUCCEEDED"]
    assert started["source"] == "aws.states"
    assert started["resources"] == [execution]
    assert started["detail"]["stopDate"] is None
    assert started["detail"]["input"] == '{"order":7}'
    described = sfn.describe_execution(executionArn=execution)
    assert ended["detail"]["output"] == described["output"]
    assert ended["detail"]["startDate"] == int(described["startDate"].timestamp() * 1000 + 0.5)
    assert ended["detail"]["stopDate"] == int(described["stopDate"].timestamp() * 1000 + 0.5)

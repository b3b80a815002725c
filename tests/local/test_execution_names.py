"""StartExecution refuses the names Step Functions refuses, on the embedded AWS as on AWS."""

import json

import pytest
from botocore.exceptions import ClientError

from pausable_sfn.local.embedded import EmbeddedAws

PASS = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def machine() -> tuple[EmbeddedAws, str]:
    with EmbeddedAws() as aws:
        arn = aws.client("stepfunctions").create_state_machine(
            name="names", definition=PASS, roleArn="arn:aws:iam::123456789012:role/names"
        )["stateMachineArn"]
        yield aws, arn


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("order 42", "InvalidName"),
        ("order/42", "InvalidName"),
        ("order\t42", "InvalidName"),
        ("<order>", "InvalidName"),
        ("o" * 81, "ValidationException"),
    ],
    ids=["a space", "a slash", "a control character", "brackets", "81 characters"],
)
def test_a_name_step_functions_refuses_is_refused_and_nothing_starts(machine, name, code):
    aws, arn = machine
    sfn = aws.client("stepfunctions")

    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, name=name)

    assert refused.value.response["Error"]["Code"] == code
    assert all(execution["name"] != name for execution in sfn.list_executions(stateMachineArn=arn)["executions"])


def test_names_step_functions_takes_still_start_and_an_unnamed_execution_gets_one(machine):
    aws, arn = machine
    sfn = aws.client("stepfunctions")

    named = sfn.start_execution(stateMachineArn=arn, name="order-42_ü" + "o" * 70)
    unnamed = sfn.start_execution(stateMachineArn=arn)

    assert named["executionArn"].endswith(":order-42_ü" + "o" * 70)
    assert not unnamed["executionArn"].endswith(":None")

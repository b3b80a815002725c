"""A page token the embedded AWS did not write is refused as AWS refuses it: InvalidToken, a 400."""

import base64
import json

import pytest
from botocore.exceptions import ClientError

from pausable_sfn.local.embedded import EmbeddedAws

PASS = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def execution() -> tuple[EmbeddedAws, str, str]:
    with EmbeddedAws() as aws:
        sfn = aws.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="tokens", definition=PASS, roleArn="arn:aws:iam::123456789012:role/tokens"
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        yield aws, machine, arn


@pytest.mark.parametrize(
    "token",
    [base64.b64encode(b'"x"').decode(), base64.b64encode(b"[1]").decode(), "not a token"],
    ids=["a JSON string", "a JSON list", "not base64"],
)
def test_list_executions_refuses_a_page_token_it_did_not_write(execution, token):
    aws, machine, _ = execution

    with pytest.raises(ClientError) as refused:
        aws.client("stepfunctions").list_executions(stateMachineArn=machine, nextToken=token)

    assert refused.value.response["Error"]["Code"] == "InvalidToken"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_execution_history_refuses_a_page_token_it_did_not_write(execution):
    aws, _, arn = execution

    with pytest.raises(ClientError) as refused:
        aws.client("stepfunctions").get_execution_history(executionArn=arn, nextToken="-1")

    assert refused.value.response["Error"]["Code"] == "InvalidToken"

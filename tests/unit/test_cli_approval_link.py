"""`pausable-sfn approval-link`: a fresh link from the approval function, never the token on screen."""

import io
import json

import pytest
from botocore.response import StreamingBody

from pausable_sfn.app.names import APPROVAL_FUNCTION_OUTPUT
from pausable_sfn.ops.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE

from .conftest import OUTPUTS, TOKEN

APPROVAL_FUNCTION = "PausableStepFunctionStack-RequestApproval"
URL = "https://abc.lambda-url.us-east-1.on.aws/approval/" + "s" * 43
ORDERS = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"


def approval_function_answers(aws, result: dict, *, request: dict, error: bool = False) -> None:
    payload = json.dumps(result).encode()
    response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
    if error:
        response["FunctionError"] = "Unhandled"
    expected = {"FunctionName": APPROVAL_FUNCTION, "Payload": json.dumps(request).encode()}
    aws("lambda").add_response("invoke", response, expected)


def test_prints_the_link_alone_on_its_line_and_when_it_expires(aws, cli):
    aws.stack({**OUTPUTS, APPROVAL_FUNCTION_OUTPUT: APPROVAL_FUNCTION})
    approval_function_answers(
        aws,
        {"url": URL, "expiresAt": "2026-11-26T10:00:00Z", "executionId": "arn:..."},
        request={"action": "issueLink", "taskToken": TOKEN},
    )

    code, out, err = cli("approval-link", "--token", TOKEN)

    assert (code, err) == (EXIT_OK, "")
    assert URL in out.splitlines()
    assert "expires 2026-11-26T10:00:00Z" in out
    assert TOKEN not in out


def test_expires_shortens_the_link_and_json_gives_url_and_expiry_only(aws, cli):
    aws.stack({**OUTPUTS, APPROVAL_FUNCTION_OUTPUT: APPROVAL_FUNCTION})
    approval_function_answers(
        aws,
        {"url": URL, "expiresAt": "2026-11-26T10:00:00Z", "executionId": "arn:..."},
        request={"action": "issueLink", "taskToken": TOKEN, "expiresInSeconds": 7200},
    )

    code, out, _ = cli("approval-link", "--token", TOKEN, "--expires", "2h", "--json")

    assert code == EXIT_OK
    assert json.loads(out) == {"url": URL, "expiresAt": "2026-11-26T10:00:00Z"}
    aws("lambda").assert_no_pending_responses()


@pytest.mark.parametrize(
    ("error_type", "message", "said"),
    [
        ("ApprovalNotRequested", "no approval was requested for this task", "no approval was requested"),
        ("ApprovalTaskExpired", "the task stopped waiting at ...", "already resumed or expired"),
    ],
    ids=["a task that asked no person", "a timed-out task"],
)
def test_a_refusal_of_the_approval_function_is_one_line_saying_why(aws, cli, error_type, message, said):
    aws.stack({**OUTPUTS, APPROVAL_FUNCTION_OUTPUT: APPROVAL_FUNCTION})
    approval_function_answers(
        aws,
        {"errorType": error_type, "errorMessage": message},
        request={"action": "issueLink", "taskToken": TOKEN},
        error=True,
    )

    code, out, err = cli("approval-link", "--token", TOKEN)

    assert code == EXIT_FAILED
    assert out == ""
    assert err.strip().splitlines() == [err.strip()]
    assert said in err
    assert TOKEN not in err


def test_with_a_state_machine_the_approval_function_must_be_named(aws, cli):
    code, _, err = cli("approval-link", "--token", TOKEN, "--state-machine", ORDERS)

    assert code == EXIT_USAGE
    assert "--approval-function" in err


def test_a_duration_that_is_not_one_is_refused_before_any_call(aws, cli):
    for bad in ("soon", "2w", "30", "2y", "-1h"):
        code, _, err = cli("approval-link", "--token", TOKEN, "--expires", bad)
        assert code == EXIT_USAGE, bad
        assert "--expires" in err


def test_a_function_that_is_not_an_approval_function_is_named_in_one_line(aws, cli):
    aws.stack({**OUTPUTS, APPROVAL_FUNCTION_OUTPUT: APPROVAL_FUNCTION})
    approval_function_answers(aws, {"mode": "manual"}, request={"action": "issueLink", "taskToken": TOKEN})

    code, _, err = cli("approval-link", "--token", TOKEN)

    assert code == EXIT_FAILED
    assert f"{APPROVAL_FUNCTION} did not answer as an approval function" in err

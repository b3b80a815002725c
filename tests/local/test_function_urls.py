"""Function URLs: deployed from a template (AWS::Lambda::Url and the permissions CDK adds), served
on the embedded AWS's endpoint at http://127.0.0.1:<port>/lambda-url/<url-id>/, each request an
invocation with Lambda's event (payload format 2.0), each answer an HTTP response by Lambda's rules."""

import base64
import http.client
import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pausable_sfn.local.deployer import DeployError
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

from .asset_code import HOLD_UNTIL_RELEASED
from .test_events import function, write_assembly

HANDLERS = (
    """
import json, time
from pathlib import Path

def echo(event, context):
    # What the function was given, and its own request id, for the test to read.
    body = json.dumps({"event": event, "requestId": context.aws_request_id})
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}

def answer(event, context):
    # Answers with whatever the request's JSON body says the function should return.
    return json.loads(event["body"])["return"]

def fail(event, context):
    raise RuntimeError("the handler failed")

def hold(event, context):
    hold_until_released(Path(json.loads(event["body"])["folder"]))
    return "released"
"""
    + HOLD_UNTIL_RELEASED
)
URL_SHAPE = re.compile(r"^http://127\.0\.0\.1:\d+/lambda-url/([a-z0-9]{32})/$")


def with_url(name: str, handler: str, *, auth: str = "NONE", public: bool = True, **properties: Any) -> dict:
    """A function and its URL as CDK 2 synthesizes `fn.add_function_url(auth_type=...)`: the URL and,
    for NONE, the two permissions that open it to everyone."""
    arn = {"Fn::GetAtt": [name, "Arn"]}
    resources = {
        name: function(handler, Timeout=30, **properties),
        f"{name}Url": {"Type": "AWS::Lambda::Url", "Properties": {"AuthType": auth, "TargetFunctionArn": arn}},
    }
    if auth == "NONE" and public:
        resources[f"{name}InvokeUrl"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunctionUrl",
                "FunctionName": arn,
                "FunctionUrlAuthType": "NONE",
                "Principal": "*",
            },
        }
        resources[f"{name}Invoke"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": arn,
                "InvokedViaFunctionUrl": True,
                "Principal": "*",
            },
        }
    return resources


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str, method: str = "GET", *, path: str = "", headers: list[tuple[str, str]] = (), body: bytes = b""
) -> Answer:
    """One HTTP request as a browser or curl makes it (repeated headers stay repeated)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest(method, parts.path + path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method in ("POST", "PUT"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Answer(response.status, response.msg, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory):
    resources = {
        **with_url("Echo", "echo"),
        **with_url("Answer", "answer"),
        **with_url("Failing", "fail"),
        **with_url("Closed", "echo", public=False),
        **with_url("Signed", "echo", auth="AWS_IAM"),
    }
    with EmbeddedAws() as aws:
        aws.deployment = aws.deploy(write_assembly(tmp_path_factory.mktemp("urls"), resources, HANDLERS))
        yield aws


def url_of(aws: EmbeddedAws, name: str) -> str:
    return aws.deployment.resources[f"{name}Url"].attributes["FunctionUrl"]


def echoed(answer: Answer) -> tuple[dict, str]:
    """The event the echo function received, and its request id."""
    assert answer.status == 200, answer.body
    echo = json.loads(answer.json()["body"]) if "statusCode" in answer.json() else answer.json()
    return echo["event"], echo["requestId"]


def test_a_deployed_url_is_served_on_the_endpoint_and_the_lambda_api_gives_the_same(aws):
    url = url_of(aws, "Echo")
    config = aws.client("lambda").get_function_url_config(FunctionName=aws.deployment.resources["Echo"].ref)

    assert URL_SHAPE.match(url)
    assert url.startswith(f"{aws.endpoint_url}/lambda-url/")
    assert (config["FunctionUrl"], config["AuthType"]) == (url, "NONE")
    assert (
        aws.deployment.resources["EchoUrl"].attributes["FunctionArn"]
        == aws.deployment.resources["Echo"].attributes["Arn"]
    )
    assert url_of(aws, "Answer") != url


def test_a_get_reaches_the_function_with_lambdas_payload_format_2_event(aws):
    url = url_of(aws, "Echo")
    url_id = URL_SHAPE.match(url).group(1)
    before = time.time()

    answer = call(
        url,
        path="approvals/42?b=2&a=1&a=x%20y",
        headers=[
            ("User-Agent", "tester/1.0"),
            ("X-Custom", "one"),
            ("X-Custom", "two"),
            ("Cookie", "session=abc; theme=dark"),
        ],
    )

    event, request_id = echoed(answer)
    assert answer.headers["x-amzn-RequestId"] == request_id
    assert (event["version"], event["routeKey"], event["isBase64Encoded"]) == ("2.0", "$default", False)
    assert (event["rawPath"], event["rawQueryString"]) == ("/approvals/42", "b=2&a=1&a=x%20y")
    assert event["queryStringParameters"] == {"b": "2", "a": "1,x y"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    headers = event["headers"]
    assert "cookie" not in headers
    assert all(name == name.lower() for name in headers)
    assert (headers["x-custom"], headers["user-agent"]) == ("one,two", "tester/1.0")
    assert (headers["x-forwarded-proto"], headers["x-forwarded-for"]) == ("http", "127.0.0.1")
    assert headers["host"] == urlsplit(url).netloc
    assert "body" not in event
    context = event["requestContext"]
    assert (context["accountId"], context["apiId"], context["domainPrefix"]) == ("anonymous", url_id, url_id)
    assert context["domainName"] == urlsplit(url).netloc
    assert context["http"] == {
        "method": "GET",
        "path": "/approvals/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tester/1.0",
    }
    assert (context["requestId"], context["routeKey"], context["stage"]) == (request_id, "$default", "$default")
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", context["time"])
    assert before * 1000 - 1000 <= context["timeEpoch"] <= time.time() * 1000


def test_the_url_without_a_path_is_the_root(aws):
    without_slash = url_of(aws, "Echo").rstrip("/")

    event, _ = echoed(call(without_slash))

    assert (event["rawPath"], event["rawQueryString"]) == ("/", "")
    assert "queryStringParameters" not in event


@pytest.mark.parametrize(
    ("content_type", "body", "as_text"),
    [
        ("application/json", b'{"decision": "approve"}', True),
        ("text/plain; charset=utf-8", "déjà vu".encode(), True),
        ("application/x-www-form-urlencoded", b"decision=approve&token=t%2B1", False),  # an HTML form's post
        ("application/octet-stream", bytes(range(256)), False),
    ],
)
def test_a_post_body_is_text_for_textual_types_and_base64_for_the_others(aws, content_type, body, as_text):
    event, _ = echoed(call(url_of(aws, "Echo"), "POST", headers=[("Content-Type", content_type)], body=body))

    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is not as_text
    assert event["body"] == (body.decode() if as_text else base64.b64encode(body).decode())


def test_a_head_request_reaches_the_function_as_head_and_is_answered_without_a_body(aws):
    answer = call(url_of(aws, "Echo"), "HEAD")

    assert (answer.status, answer.body) == (200, b"")
    invocation = next(
        i for i in reversed(aws.runtime.invocations) if i.request_id == answer.headers["x-amzn-RequestId"]
    )
    assert json.loads(invocation.result()["body"])["event"]["requestContext"]["http"]["method"] == "HEAD"


def answered(aws: EmbeddedAws, returned: Any) -> Answer:
    body = json.dumps({"return": returned}).encode()
    return call(url_of(aws, "Answer"), "POST", headers=[("Content-Type", "application/json")], body=body)


def test_a_response_object_sets_status_headers_cookies_and_body(aws):
    answer = answered(
        aws,
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/html; charset=utf-8", "X-Approval": "recorded"},
            "cookies": ["seen=1; Path=/; HttpOnly", "theme=dark"],
            "body": "<p>Thank you</p>",
        },
    )

    assert (answer.status, answer.body) == (201, b"<p>Thank you</p>")
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["X-Approval"] == "recorded"
    assert answer.headers.get_all("Set-Cookie") == ["seen=1; Path=/; HttpOnly", "theme=dark"]


def test_a_base64_body_is_sent_decoded(aws):
    picture = bytes(range(256))

    answer = answered(
        aws,
        {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(picture).decode(),
            "isBase64Encoded": True,
        },
    )

    assert (answer.status, answer.headers["Content-Type"], answer.body) == (200, "image/png", picture)


@pytest.mark.parametrize(
    ("returned", "status", "body"),
    [
        ({"hello": "world"}, 200, b'{"hello":"world"}'),  # no statusCode: all of it is the body, as JSON
        (["hello", 3, True], 200, b'["hello",3,true]'),
        ("hello", 200, b"hello"),  # a string is sent as it is
        ({"statusCode": "418", "body": "teapot"}, 418, b"teapot"),
        ({"statusCode": 204}, 204, b""),
    ],
)
def test_an_answer_without_a_response_object_is_inferred_as_lambda_does(aws, returned, status, body):
    answer = answered(aws, returned)

    assert (answer.status, answer.body) == (status, body)
    if status != 204:
        assert answer.headers["Content-Type"] == "application/json"


def test_a_function_error_is_a_502_with_lambdas_body(aws):
    answer = call(url_of(aws, "Failing"))

    assert (answer.status, answer.body) == (502, b"Internal Server Error")
    assert aws.runtime.invocations[-1].error_type == "RuntimeError"


def test_an_answer_lambda_cannot_make_a_response_of_is_a_502(aws):
    assert answered(aws, {"statusCode": "two hundred"}).status == 502
    assert answered(aws, {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}).status == 502


def test_an_unknown_url_is_refused_as_lambda_refuses_it(aws):
    answer = call(f"{aws.endpoint_url}/lambda-url/{'0' * 32}/")

    assert (answer.status, answer.body) == (403, b'{"Message":null}')
    assert answer.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_a_url_whose_function_policy_does_not_let_the_public_in_is_forbidden(aws):
    answer = call(url_of(aws, "Closed"))

    assert answer.status == 403
    assert answer.json()["Message"].startswith("Forbidden.")
    assert not any(i.function == aws.deployment.resources["Closed"].ref for i in aws.runtime.invocations)


def test_an_aws_iam_url_refuses_an_unsigned_request_and_serves_a_signed_one(aws):
    url = url_of(aws, "Signed")
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("AKIDEMBEDDED", "secret"), "lambda", aws.region).add_auth(request)

    unsigned = call(url)
    signed = call(url, headers=list(request.headers.items()))

    assert unsigned.status == 403
    event, _ = echoed(signed)
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "AKIDEMBEDDED"


def test_a_url_deleted_through_the_api_is_no_longer_served_and_one_created_through_it_is(aws):
    lambda_ = aws.client("lambda")
    name = aws.deployment.resources["Failing"].ref
    old = url_of(aws, "Failing")

    lambda_.delete_function_url_config(FunctionName=name)
    new = lambda_.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]

    assert call(old).status == 403
    assert URL_SHAPE.match(new)
    assert new != old
    assert call(new).status == 502  # served: the function runs, and fails as it always does


def test_beyond_its_reserved_concurrency_a_url_answers_429(aws, tmp_path: Path):
    hold = json.dumps({"folder": str(tmp_path)}).encode()
    resources = with_url("Held", "hold", ReservedConcurrentExecutions=1)
    deployment = aws.deploy(write_assembly(tmp_path / "assembly", resources, HANDLERS), as_stack="Reserved")
    url = deployment.resources["HeldUrl"].attributes["FunctionUrl"]
    first: list[Answer] = []
    held = threading.Thread(
        target=lambda: first.append(call(url, "POST", headers=[("Content-Type", "application/json")], body=hold))
    )
    held.start()
    wait_until((tmp_path / "held").exists, what="the first request to run")

    throttled = call(url, "POST", headers=[("Content-Type", "application/json")], body=hold)
    (tmp_path / "release").touch()
    held.join(timeout=30)

    assert (throttled.status, throttled.body) == (429, b'{"Message":"Rate Exceeded."}')
    assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert (first[0].status, first[0].body) == (200, b"released")


@pytest.mark.parametrize(
    ("properties", "refusal"),
    [
        ({"Qualifier": "live"}, r"AWS::Lambda::Url \(EchoUrl\) is for live: the embedded AWS deploys no versions"),
        ({"InvokeMode": "RESPONSE_STREAM"}, r"serves BUFFERED URLs only, not RESPONSE_STREAM"),
    ],
)
def test_a_url_the_embedded_aws_cannot_serve_stops_the_deploy_saying_why(aws, tmp_path, properties, refusal):
    resources = with_url("Echo", "echo")
    resources["EchoUrl"]["Properties"].update(properties)

    with pytest.raises(DeployError, match=refusal):
        aws.deploy(write_assembly(tmp_path, resources, HANDLERS), as_stack=f"Refused-{next(iter(properties))}")

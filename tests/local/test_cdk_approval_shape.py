"""A CDK 2 app with what human approval from a link needs (a TableV2 of decisions, a function with
a public URL serving an HTML page whose form posts the decision, a reserved concurrency),
synthesized by CDK and deployed into the embedded AWS in server mode, as `local serve` runs it:
the page is served, and of several decisions posted at once exactly the first one is recorded."""

import http.client
import json
import textwrap
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pausable_sfn.local.embedded import EmbeddedAws

PAGE_HANDLER = """
import base64, os
from urllib.parse import parse_qs

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
PAGE = (
    "<!doctype html><title>Approve?</title><form method=post>"
    "<button name=decision value=approve>Approve</button>"
    "<button name=decision value=reject>Reject</button></form>"
)


def handler(event, context):
    request = event["rawPath"].strip("/")
    if event["requestContext"]["http"]["method"] == "GET":
        return {"statusCode": 200, "headers": {"content-type": "text/html; charset=utf-8"}, "body": PAGE}
    form = base64.b64decode(event["body"]).decode() if event["isBase64Encoded"] else event["body"]
    decision = parse_qs(form)["decision"][0]
    try:
        TABLE.update_item(
            Key={"id": request},
            UpdateExpression="SET decision = :decision",
            ConditionExpression="attribute_not_exists(decision)",
            ExpressionAttributeValues={":decision": decision},
        )
    except TABLE.meta.client.exceptions.ConditionalCheckFailedException:
        return {"statusCode": 409, "headers": {"content-type": "text/plain"}, "body": "already decided"}
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": f"recorded: {decision}"}
"""
DECIDERS = 5


def synthesize(folder: Path) -> Path:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_lambda as lambda_

    asset = folder / "page"
    asset.mkdir()
    (asset / "page.py").write_text(textwrap.dedent(PAGE_HANDLER))
    app = cdk.App(outdir=str(folder / "cdk.out"))
    stack = cdk.Stack(app, "Approvals")
    decisions = dynamodb.TableV2(
        stack,
        "Decisions",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        time_to_live_attribute="expiresAt",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    page = lambda_.Function(
        stack,
        "Page",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="page.handler",
        code=lambda_.Code.from_asset(str(asset)),
        environment={"TABLE_NAME": decisions.table_name},
        reserved_concurrent_executions=DECIDERS,
        timeout=cdk.Duration.seconds(30),
    )
    decisions.grant_read_write_data(page)
    url = page.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
    cdk.CfnOutput(stack, "PageUrl", value=url.url)
    cdk.CfnOutput(stack, "TableName", value=decisions.table_name)
    app.synth()
    return folder / "cdk.out"


def request(url: str, method: str = "GET", form: str = "") -> tuple[int, str, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
        connection.request(method, parts.path, body=form or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("approvals"))


def test_the_template_has_what_cdk_makes_of_a_table_v2_and_a_public_function_url(assembly):
    resources = json.loads((assembly / "Approvals.template.json").read_text())["Resources"].values()
    types = sorted(resource["Type"] for resource in resources)

    assert "AWS::DynamoDB::GlobalTable" in types
    assert "AWS::Lambda::Url" in types
    permissions = [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::Permission"]
    assert {(p["Action"], p.get("FunctionUrlAuthType"), p.get("InvokedViaFunctionUrl")) for p in permissions} == {
        ("lambda:InvokeFunctionUrl", "NONE", None),
        ("lambda:InvokeFunction", None, True),
    }


def test_the_page_is_served_and_of_decisions_posted_at_once_exactly_the_first_is_recorded(assembly):
    with EmbeddedAws(in_process=False) as aws:
        deployment = aws.deploy(assembly)
        link = f"{deployment.outputs['PageUrl']}request-7"

        page = request(link)
        answers: list[tuple[int, str, str]] = []
        lock = threading.Lock()

        def decide(decision: str) -> None:
            answer = request(link, "POST", f"decision={decision}")
            with lock:
                answers.append(answer)

        deciders = [threading.Thread(target=decide, args=("approve" if n % 2 else "reject",)) for n in range(DECIDERS)]
        for decider in deciders:
            decider.start()
        for decider in deciders:
            decider.join(timeout=60)
        item = aws.client("dynamodb").get_item(
            TableName=deployment.outputs["TableName"], Key={"id": {"S": "request-7"}}
        )["Item"]

    assert page[0] == 200
    assert page[1] == "text/html; charset=utf-8"
    assert "<form method=post>" in page[2]
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] + [409] * (DECIDERS - 1)
    [(_, _, recorded)] = [answer for answer in answers if answer[0] == 200]
    assert recorded == f"recorded: {item['decision']['S']}"

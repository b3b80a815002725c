"""Approval by link, end to end: a manual execution asks a person, who decides on the page.

The link comes as people get it (the approval requests topic) or as an operator asks for one
(`approval-link`); the page is driven over HTTP as a browser drives it (testing/approval_form.py).
"""

import json
import re
import threading
import uuid
from urllib.parse import urlsplit

import pytest

from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import APPROVAL_TOPIC_OUTPUT
from pausable_sfn.contracts import REJECTED_ERROR
from pausable_sfn.ops.operations import OperationError, Operations
from pausable_sfn.testing import approval_form
from pausable_sfn.testing.approval_form import fetch
from pausable_sfn.testing.waiting import wait_until

from .conftest import take_messages

LINK = re.compile(r"https?://\S+/approval/[A-Za-z0-9_-]+")
# What opens links before people do: mail scanners and chat unfurlers.
SCANNERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Safe Links",
    "Mimecast-URL-Protect/1.0",
    "Proofpoint URL Defense",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)",
)


@pytest.fixture(scope="module")
def inbox(app):
    """A queue subscribed to the approval requests topic: what an e-mail subscriber would receive."""
    sqs, sns = app.aws.client("sqs"), app.aws.client("sns")
    url = sqs.create_queue(QueueName=f"approval-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = app.output(APPROVAL_TOPIC_OUTPUT)
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
                        }
                    ]
                }
            )
        },
    )
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
    yield url
    sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sqs.delete_queue(QueueUrl=url)


def approval_message(app, inbox: str, execution_name: str) -> dict:
    """The approval request published for this execution (others' are left in the inbox)."""
    messages = wait_until(lambda: take_messages(app.aws, inbox, execution_name), what=f"a request for {execution_name}")
    return json.loads(messages[0]["Body"])


def paused_for_a_person(app, name: str | None = None) -> tuple[str, str]:
    name = name or f"approval-{uuid.uuid4().hex[:12]}"
    arn = app.start({"IsManualCallback": "True", "ticket": "T-1"}, name=name)
    app.wait_paused(arn)
    return arn, arn.rsplit(":", 1)[1]


def operator_link(app, arn: str, **options) -> str:
    operations = Operations(stack=app.name, conventions=DEMO)
    return operations.approval_link(operations.token_of(arn), **options).url


def still_waiting(app, arn: str) -> bool:
    app.settle()
    return app.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and not any(
        event["type"] in ("TaskSucceeded", "TaskFailed") for event in app.history(arn)
    )


def test_a_person_approves_from_the_link_in_the_approval_request(app, inbox):
    arn, name = paused_for_a_person(app)

    message = approval_message(app, inbox, name)
    [link] = LINK.findall(message["Message"])
    token = app.wait_paused(arn).task_token
    assert token not in message["Message"]
    assert token[:40] not in json.dumps(message)
    page = fetch(link)
    assert page.status == 200
    assert name in page.html
    assert token[:40] not in page.html

    answer = approval_form.decide(link, "approve", name="Ana", comment="ship it")

    assert answer.status == 200
    assert "Approved" in answer.html
    result = app.wait_end(arn)
    assert result["status"] == "SUCCEEDED"
    decision = json.loads(result["output"])["CallAsyncServiceStep"]
    assert decision["approved"] is True
    assert (decision["decidedBy"], decision["comment"]) == ("Ana", "ship it")


def test_a_person_rejects_and_the_execution_fails_with_rejected(app):
    arn, _ = paused_for_a_person(app)

    answer = approval_form.decide(operator_link(app, arn), "reject", name="Bo", comment="wrong customer")

    assert answer.status == 200
    result = app.wait_end(arn)
    assert result["status"] == "FAILED"
    assert (result["error"], result["cause"]) == (REJECTED_ERROR, "wrong customer")


def test_link_scanners_and_unfurlers_decide_nothing(app):
    arn, _ = paused_for_a_person(app)
    link = operator_link(app, arn)

    for _ in range(3):
        for agent in SCANNERS:
            assert fetch(link, method="HEAD", headers={"User-Agent": agent}).status == 200
            assert fetch(link, headers={"User-Agent": agent}).status == 200

    assert still_waiting(app, arn)
    approval_form.decide(link, "approve", name="Ana")  # a person, at last
    assert app.wait_end(arn)["status"] == "SUCCEEDED"


def test_the_page_is_served_with_its_security_headers(app):
    arn, _ = paused_for_a_person(app)
    link = operator_link(app, arn)

    for answer in (fetch(link), fetch(link, method="HEAD"), fetch(link + "x")):
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
    approval_form.decide(link, "reject", name="cleanup")


def test_a_changed_link_or_a_post_without_the_page_decides_nothing(app):
    arn, _ = paused_for_a_person(app)
    link = operator_link(app, arn)
    secret = link.rsplit("/", 1)[1]
    changed = link[: -len(secret)] + secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert fetch(changed).status == 404
    blind = fetch(
        link,
        method="POST",
        data=b"decidedBy=Eve&decision=approve",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert blind.status == 403
    assert still_waiting(app, arn)
    approval_form.decide(link, "reject", name="cleanup")


def test_the_first_of_simultaneous_decisions_wins_and_the_others_are_told(app):
    arn, _ = paused_for_a_person(app)
    link = operator_link(app, arn)
    answers: list[approval_form.PageAnswer] = []
    start = threading.Barrier(6)

    def person(number: int) -> None:
        decision = "approve" if number % 2 else "reject"
        page = fetch(link)
        form_key = re.search(r'name="formKey" value="([^"]+)"', page.html).group(1)
        start.wait()
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(link))
        answers.append(
            fetch(
                link,
                method="POST",
                data=f"formKey={form_key}&decidedBy=person-{number}&decision={decision}".encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
            )
        )

    people = [threading.Thread(target=person, args=(number,)) for number in range(6)]
    for thread in people:
        thread.start()
    for thread in people:
        thread.join(timeout=60)

    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200, 409, 409, 409, 409, 409]
    [winner] = [answer for answer in answers if answer.status == 200]
    result = app.wait_end(arn)
    assert result["status"] == ("SUCCEEDED" if "Approved" in winner.html else "FAILED")
    assert all("already decided" in answer.html for answer in answers if answer.status == 409)


def test_an_expired_link_says_so_and_the_execution_still_waits(app):
    arn, _ = paused_for_a_person(app)
    operations = Operations(stack=app.name, conventions=DEMO)
    token = operations.token_of(arn)
    short = operations.approval_link(token, expires_in=1).url

    app.let_time_pass(1.5)  # the link's second, not the task's 7 days
    expired = wait_until(lambda: (answer := fetch(short)).status == 410 and answer, what="the link to expire")

    assert expired.status == 410
    assert "expired" in expired.html
    assert "<form" not in expired.html
    late = fetch(
        short,
        method="POST",
        data=b"formKey=anything&decidedBy=Late&decision=approve",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert late.status in (403, 410)
    assert still_waiting(app, arn)
    # A fresh link still works (what it does with a POST after expiry: tests/unit/test_approval_page.py).
    assert approval_form.decide(operations.approval_link(token).url, "reject", name="cleanup").status == 200


def test_an_automatic_execution_has_no_approval_link(app):
    arn = app.start({"IsManualCallback": "False", "JobDurationSeconds": 900})
    app.wait_paused(arn)
    operations = Operations(stack=app.name, conventions=DEMO)
    token = operations.token_of(arn)

    with pytest.raises(OperationError, match="waits for a service, not a person"):
        operations.approval_link(token)
    operations.resume(token)

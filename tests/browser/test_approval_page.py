"""The approval page in a real browser: a person opens the link, reads, names themself, decides."""

import json
import uuid
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import STATE_MACHINE_ARN_OUTPUT
from pausable_sfn.local.deployer import Deployment
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.ops.operations import Operations
from pausable_sfn.testing.polling import wait_for


def paused_for_a_person(aws: EmbeddedAws, deployment: Deployment) -> tuple[str, str]:
    """An execution waiting for a person, and a link to its approval page."""
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=deployment.outputs[STATE_MACHINE_ARN_OUTPUT],
        name=f"browser-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"IsManualCallback": "True", "ticket": "T-42"}),
    )["executionArn"]
    snapshot = wait_for(sfn, arn, lambda s: s.paused, timeout=60)
    assert snapshot.paused
    assert snapshot.task_token
    return arn, Operations(stack=deployment.stack_name, conventions=DEMO).approval_link(snapshot.task_token).url


def test_a_person_approves_in_the_browser_and_the_execution_succeeds(page: Page, deployed):
    aws, deployment = deployed
    arn, link = paused_for_a_person(aws, deployment)

    page.goto(link)
    expect(page.get_by_role("heading", name="Approve or reject")).to_be_visible()
    expect(page.get_by_text(arn.rsplit(":", 1)[1])).to_be_visible()
    expect(page.get_by_text("T-42")).to_be_visible()
    page.get_by_label("Your name").fill("Ana")
    page.get_by_label("Comment").fill("fine by me")
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("heading", name="Approved")).to_be_visible()
    expect(page.get_by_text("Ana")).to_be_visible()
    final = wait_for(aws.client("stepfunctions"), arn, lambda s: False, timeout=60)
    assert final.status == "SUCCEEDED"


def test_the_page_asks_for_a_name_before_anything_is_sent(page: Page, deployed):
    aws, deployment = deployed
    arn, link = paused_for_a_person(aws, deployment)
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    page.goto(link)
    page.get_by_role("button", name="Reject").click()

    # The browser itself refuses the empty required field: no POST leaves it.
    assert page.get_by_label("Your name").evaluate("field => field.validity.valueMissing") is True
    assert posts == []
    assert aws.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    page.get_by_label("Your name").fill("Bo")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("heading", name="Rejected")).to_be_visible()
    assert wait_for(aws.client("stepfunctions"), arn, lambda s: False, timeout=60).status == "FAILED"


def test_the_page_runs_no_script_and_loads_nothing_else(page: Page, deployed):
    aws, deployment = deployed
    _, link = paused_for_a_person(aws, deployment)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )

    page.goto(link)
    expect(page.get_by_role("button", name="Approve")).to_be_visible()

    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(link))
    assert requests[0] == link
    assert all(url.startswith(origin) for url in requests), requests  # nothing from another site
    assert violations == []  # its inline style is allowed by its hash, nothing is blocked
    assert page.evaluate("document.scripts.length") == 0
    page.get_by_label("Your name").fill("cleanup")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("heading", name="Rejected")).to_be_visible()

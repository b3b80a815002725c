"""The local console in a real browser: the executions of the embedded AWS, and one drawn on its graph."""

import json
import uuid

import pytest
from playwright.sync_api import Page, expect

from pausable_sfn.console.app import ConsoleApp
from pausable_sfn.contracts import STATE_MACHINE_ARN_OUTPUT, fingerprint
from pausable_sfn.ops.graph import COLOURS, WAITING
from pausable_sfn.ops.history import wait_for


@pytest.fixture(scope="module")
def console(deployed) -> str:
    aws, _ = deployed
    aws.endpoint.mount("/console", ConsoleApp(aws.client))
    return f"{aws.endpoint_url}/console/"


def paused(deployed) -> tuple[str, str]:
    aws, deployment = deployed
    sfn = aws.client("stepfunctions")
    name = f"console-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(
        stateMachineArn=deployment.outputs[STATE_MACHINE_ARN_OUTPUT],
        name=name,
        input=json.dumps({"IsManualCallback": "True"}),
    )["executionArn"]
    snapshot = wait_for(sfn, arn, lambda s: s.paused, timeout=60)
    assert snapshot.paused
    assert snapshot.task_token
    return name, snapshot.task_token


def test_the_console_lists_an_execution_started_through_the_api_as_paused_where_it_waits(page: Page, console, deployed):
    name, _ = paused(deployed)

    page.goto(console)

    row = page.get_by_role("row", name=name)
    expect(row).to_contain_text("paused at Long job execution")


def test_an_execution_page_draws_the_waiting_task_in_its_colour_and_masks_the_token(page: Page, console, deployed):
    name, token = paused(deployed)

    page.goto(console)
    page.get_by_role("link", name=name).click()

    expect(page.get_by_role("heading", name=name)).to_be_visible()
    waiting = page.locator("svg g.node", has_text="Long job execution")
    expect(waiting).to_be_visible()
    assert waiting.locator("path").first.get_attribute("fill") == COLOURS[WAITING][0]
    content = page.content()
    assert token not in content
    assert fingerprint(token) in content


def test_the_console_changes_nothing_on_a_post_and_refuses_unknown_pages(page: Page, console):
    assert page.request.post(console).status == 405
    assert page.request.get(console + "nothing").status == 404
    assert page.request.get(console + "execution?arn=arn:aws:states:us-east-1:1:execution:x:y").status == 404

"""The local console in a real browser: the executions of the embedded AWS, and one drawn on its graph."""

import json
import uuid

import pytest
from playwright.sync_api import Page, expect

from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import STATE_MACHINE_ARN_OUTPUT
from pausable_sfn.console.app import ConsoleApp
from pausable_sfn.contracts import fingerprint
from pausable_sfn.ops.graph import COLOURS, SUCCEEDED, WAITING
from pausable_sfn.testing.polling import wait_for

from .console_steps import execution_arn, node_shape, start_from_the_form


@pytest.fixture(scope="module")
def console(deployed) -> str:
    aws, _ = deployed
    aws.endpoint.mount("/console", ConsoleApp(aws.client, conventions=DEMO))
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
    expect(node_shape(page, "Long job execution")).to_have_attribute("fill", COLOURS[WAITING][0])
    content = page.content()
    assert token not in content
    assert fingerprint(token) in content


def test_the_console_changes_nothing_on_a_post_and_refuses_unknown_pages(page: Page, console):
    assert page.request.post(console).status == 405
    assert page.request.get(console + "nothing").status == 404
    assert page.request.get(console + "execution?arn=arn:aws:states:us-east-1:1:execution:x:y").status == 404


def test_starting_an_execution_from_the_form_shows_it_paused(page: Page, console, deployed):
    name = f"form-{uuid.uuid4().hex[:8]}"

    start_from_the_form(page, console, name)

    aws, _ = deployed
    assert wait_for(aws.client("stepfunctions"), execution_arn(page), lambda s: s.paused, timeout=60).paused


def test_invalid_json_is_refused_before_anything_starts(page: Page, console, deployed):
    aws, deployment = deployed
    sfn = aws.client("stepfunctions")
    machine = deployment.outputs[STATE_MACHINE_ARN_OUTPUT]
    before = len(sfn.list_executions(stateMachineArn=machine)["executions"])

    page.goto(console + "start")
    page.get_by_label("Input").fill('{"IsManualCallback": "True",}')
    page.get_by_role("button", name="Start execution").click()

    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == before


def test_a_post_made_without_the_consoles_form_starts_nothing(page: Page, console, deployed):
    aws, deployment = deployed
    machine = deployment.outputs[STATE_MACHINE_ARN_OUTPUT]
    sfn = aws.client("stepfunctions")
    before = len(sfn.list_executions(stateMachineArn=machine)["executions"])

    answer = page.request.post(console + "start", form={"stateMachine": machine, "input": "{}"})

    assert answer.status == 403
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == before


def test_resuming_a_paused_execution_from_its_page_makes_it_succeed(page: Page, console, deployed):
    name, _ = paused(deployed)
    aws, _ = deployed

    page.goto(console)
    page.get_by_role("link", name=name).click()
    page.get_by_label("Output (JSON, optional)").fill('{"approvedBy": "console"}')
    page.get_by_role("button", name="Resume").click()

    expect(page.get_by_role("status")).to_contain_text("Resumed")
    final = wait_for(aws.client("stepfunctions"), execution_arn(page), lambda s: False, timeout=60)
    assert final.status == "SUCCEEDED"
    page.reload()
    expect(node_shape(page, "Post processing")).to_have_attribute("fill", COLOURS[SUCCEEDED][0])


def test_the_approval_link_button_gives_a_link_that_opens_the_approval_page(page: Page, console, deployed):
    name, token = paused(deployed)

    page.goto(console)
    page.get_by_role("link", name=name).click()
    page.get_by_role("button", name="Approval link").click()

    link = page.locator("main a[href*='/approval/']").get_attribute("href") or ""
    assert "/approval/" in link
    assert token not in page.content()
    page.goto(link)
    expect(page.get_by_role("heading", name="Approve or reject")).to_be_visible()


def test_clicking_a_state_in_the_graph_shows_its_input_and_output(page: Page, console, deployed):
    name, token = paused(deployed)

    page.goto(console)
    page.get_by_role("link", name=name).click()
    page.locator("svg g.node", has_text="Manual callback").click()

    row = page.locator("tr:target")
    expect(row).to_contain_text("Manual callback")
    row.locator("details").first.click()
    expect(row.locator("pre").first).to_contain_text('"IsManualCallback": "True"')
    expect(page.get_by_text("Paused at", exact=True)).to_be_visible()
    assert token not in page.content()


def test_a_fail_without_an_error_name_is_refused_keeping_the_cause_then_the_failed_page_says_why(
    page: Page, console, deployed
):
    name, _ = paused(deployed)
    aws, _ = deployed
    page.goto(console)
    page.get_by_role("link", name=name).click()

    page.get_by_label("Error").fill("")
    page.get_by_label("Cause").fill("no widgets left")
    page.get_by_role("button", name="Fail").click()

    expect(page.get_by_role("alert")).to_contain_text("Name the error")
    expect(page.get_by_label("Cause")).to_have_value("no widgets left")
    page.get_by_label("Error").fill("OutOfStock")
    page.get_by_role("button", name="Fail").click()

    expect(page.get_by_role("status")).to_contain_text("Failed: SendTaskFailure was accepted")
    assert wait_for(aws.client("stepfunctions"), execution_arn(page), lambda s: False, timeout=60).status == "FAILED"
    page.reload()
    expect(page.get_by_role("row", name="Error OutOfStock", exact=True)).to_be_visible()
    expect(page.get_by_role("row", name="Cause no widgets left", exact=True)).to_be_visible()


def test_an_output_that_is_not_json_is_refused_on_the_page_with_what_was_typed_and_nothing_sent(
    page: Page, console, deployed
):
    name, _ = paused(deployed)
    page.goto(console)
    page.get_by_role("link", name=name).click()

    page.get_by_label("Output (JSON, optional)").fill("{approved: true}")
    page.get_by_role("button", name="Resume").click()

    expect(page.get_by_role("alert")).to_contain_text("The output is not valid JSON")
    expect(page.get_by_label("Output (JSON, optional)")).to_have_value("{approved: true}")
    expect(page.get_by_role("heading", name="It waits for a callback")).to_be_visible()

"""Issue 13's story, as a newcomer lives it: `make serve`, the console address it prints, and from
there on only the browser: start a manual execution, watch it pause, resume it, see it turn green."""

import os
import shlex
import signal
import uuid

import boto3
import pytest
from playwright.sync_api import Page, expect

from pausable_sfn.ops.graph import COLOURS, SUCCEEDED, WAITING
from pausable_sfn.testing.polling import wait_for

from ..serving import printed, serve_command, start_serving
from .console_steps import execution_arn, node_shape, start_from_the_form


@pytest.fixture(scope="module")
def assembly(synthesized_once):
    return synthesized_once("app")


def step_functions(export_line: str):
    """A Step Functions client set up as the printed `export AWS_ENDPOINT_URL=...` line sets up a shell."""
    variables = dict(word.split("=", 1) for word in shlex.split(export_line))
    return boto3.client(
        "stepfunctions",
        endpoint_url=variables["AWS_ENDPOINT_URL"],
        region_name=variables["AWS_REGION"],
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
    )


def test_a_newcomer_starts_an_execution_from_the_printed_console_sees_it_pause_and_resumes_it_to_green(
    page: Page, assembly
):
    process, lines = start_serving(serve_command("--port", "0", "--assembly", str(assembly)), dict(os.environ))
    try:
        console = printed(lines, "Console: ")
        name = f"newcomer-{uuid.uuid4().hex[:8]}"

        start_from_the_form(page, console, name)

        # It pauses: the page refreshes itself while the execution runs.
        expect(page.get_by_role("heading", name="It waits for a callback")).to_be_visible()
        expect(node_shape(page, "Long job execution")).to_have_attribute("fill", COLOURS[WAITING][0])
        sfn = step_functions(printed(lines, "export "))
        token = wait_for(sfn, execution_arn(page), lambda s: s.paused, timeout=60).task_token
        assert token
        assert token not in page.content()

        page.get_by_role("button", name="Resume").click()

        expect(page.get_by_role("status")).to_contain_text("Resumed")
        expect(node_shape(page, "Post processing")).to_have_attribute("fill", COLOURS[SUCCEEDED][0])
        expect(page.locator("tr:has(> th:text-is('Status')) > td")).to_have_text("SUCCEEDED")
        assert token not in page.content()
        page.goto(console)
        expect(page.get_by_role("row", name=name)).to_contain_text("succeeded")

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()

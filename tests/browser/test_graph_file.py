"""The graph file of `pausable-sfn graph` opens in a browser with no network: nothing else is loaded."""

import json
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import STATE_MACHINE_ARN_OUTPUT
from pausable_sfn.ops.operations import Operations
from pausable_sfn.testing.polling import wait_for


def test_the_graph_file_opens_offline_and_shows_the_waiting_task(page: Page, deployed, tmp_path: Path):
    aws, deployment = deployed
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=deployment.outputs[STATE_MACHINE_ARN_OUTPUT],
        name=f"graph-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"IsManualCallback": "True"}),
    )["executionArn"]
    assert wait_for(sfn, arn, lambda s: s.paused, timeout=60).paused
    drawing = tmp_path / "graph.html"
    drawing.write_text(Operations(stack=deployment.stack_name, conventions=DEMO).graph(arn), encoding="utf-8")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(drawing.as_uri())

    expect(page.locator("svg g.node", has_text="Long job execution")).to_be_visible()
    expect(page.get_by_text("waiting for a callback")).to_be_visible()
    assert requests == [drawing.as_uri()]  # the file alone: no script, style, font or image from anywhere

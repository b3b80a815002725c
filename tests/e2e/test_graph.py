"""`pausable-sfn graph`: each execution of the app drawn with the path it took, in its colours."""

import html
import re
from datetime import UTC, datetime

from pausable_sfn.app.conventions import DEMO
from pausable_sfn.ops.graph import CAUGHT, COLOURS, FAILED, NOT_RUN, SUCCEEDED, WAITING, ExecutionPath, render_html
from pausable_sfn.ops.operations import Operations


def fills(svg: str) -> dict[str, str]:
    """Each state's fill colour in the SVG that dot wrote: a node's group holds its <title> (the
    state's name), then (inside its tooltip's link) the shape, whose fill is the first one."""
    nodes = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>.*?fill="([^"]+)"', svg, re.DOTALL)
    return {html.unescape(title): fill for title, fill in nodes}


def graph(app, arn: str) -> str:
    return Operations(stack=app.name, conventions=DEMO).graph(arn, svg_only=True)


def test_a_paused_execution_shows_its_path_and_the_task_waiting_in_violet(app):
    arn = app.start({"IsManualCallback": "True"})
    app.wait_paused(arn)

    colours = fills(graph(app, arn))

    assert colours["Long job execution"] == COLOURS[WAITING][0]
    for taken in ("Preprocessing", "Check input is an object", "Manual callback", "Default job duration"):
        assert colours[taken] == COLOURS[SUCCEEDED][0], taken
    assert colours["Automatic callback"] == COLOURS[NOT_RUN][0]
    assert colours["Post processing"] == COLOURS[NOT_RUN][0]
    app.resume({"taskToken": app.wait_paused(arn).task_token})


def test_a_rejected_execution_shows_the_caught_error_and_where_it_failed(app):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token
    app.resume({"taskToken": token, "status": "FAILED", "error": "Rejected", "cause": "no"})
    assert app.wait_end(arn)["status"] == "FAILED"

    colours = fills(graph(app, arn))

    assert colours["Long job execution"] == COLOURS[CAUGHT][0]
    assert colours["LongJobFailed"] == COLOURS[FAILED][0]
    assert colours["Post processing"] == COLOURS[NOT_RUN][0]


def test_a_finished_execution_is_green_to_the_end_and_the_page_opens_offline(app):
    arn = app.start({"IsManualCallback": "True"})
    app.resume({"taskToken": app.wait_paused(arn).task_token})
    assert app.wait_end(arn)["status"] == "SUCCEEDED"

    page = Operations(stack=app.name, conventions=DEMO).graph(arn)

    colours = fills(page)
    assert colours["Post processing"] == COLOURS[SUCCEEDED][0]
    assert colours["Long job execution"] == COLOURS[SUCCEEDED][0]
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<!DOCTYPE" not in page


def test_names_are_escaped_in_the_page_dot_lays_out():
    """The unit tier stands in for dot (tests/unit/test_graph.py); here Graphviz writes the SVG."""
    definition = {"StartAt": "<b>x</b>", "States": {"<b>x</b>": {"Type": "Pass", "End": True}}}
    execution = {"name": "<script>alert(1)</script>", "status": "RUNNING"}

    page = render_html(definition, ExecutionPath(), now=datetime.now(UTC), execution=execution)

    assert "<b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<script" not in page
    assert "<?xml" not in page
    assert "<!DOCTYPE" not in page

"""An approval link lives as long as its task waits: with the app's real 7-day manual timeout, a
link is accepted a minute before the timeout and refused after it. The embedded AWS's clock
moves the week; the approval page (Lambda code) reads the same clock as Step Functions."""

from datetime import timedelta

import pytest

from pausable_sfn.app.settings import Settings
from pausable_sfn.testing import approval_form
from pausable_sfn.testing.approval_form import fetch

from .test_approval import operator_link, paused_for_a_person

MANUAL_TIMEOUT = timedelta(seconds=Settings().manual_resume_timeout_seconds)


@pytest.mark.emulator_only(reason="moves the embedded AWS's clock a week forward")
def test_a_link_is_accepted_just_before_its_task_times_out_and_refused_after(app, embedded):
    accepted, _ = paused_for_a_person(app)
    refused, _ = paused_for_a_person(app)
    accepted_link, refused_link = operator_link(app, accepted), operator_link(app, refused)

    embedded.clock.advance(MANUAL_TIMEOUT - timedelta(minutes=1))
    assert fetch(refused_link).status == 200
    assert approval_form.decide(accepted_link, "approve", name="Ana").status == 200
    assert app.wait_end(accepted)["status"] == "SUCCEEDED"

    embedded.clock.advance(timedelta(minutes=1))
    page = fetch(refused_link)

    assert page.status == 410
    assert "expired" in page.html
    assert app.sfn.describe_execution(executionArn=refused)["status"] == "FAILED"
    assert [event["type"] for event in app.history(refused)].count("TaskTimedOut") == 1

"""`make demo`: every flow ends as expected, and a flow that does not is reported as such."""

import re
from datetime import timedelta

import pytest
from rich.console import Console

from pausable_sfn import cli, demo
from pausable_sfn.demo import FLOWS, Outcome


@pytest.mark.first  # among the longest: started early, not left to end the run alone
def test_the_demo_runs_every_flow_to_its_expected_end(synthesized_once):
    console = Console(record=True, width=120, force_terminal=False)

    # The run's shared synthesis of the app: the very function the demo calls (and `local serve`'s
    # test runs the synthesizing path end to end).
    assert demo.run(console, assembly_dir=synthesized_once("app")) is True

    text = console.export_text()
    for flow in FLOWS:
        assert f"{flow.title}" in text
    assert text.count("as expected") == len(FLOWS)
    assert "NOT as expected" not in text
    assert "task token tok-" in text  # read from the TaskScheduled event, shown only by fingerprint
    # The automatic flow waits on a job id, and the job calls back by it: no token leaves.
    words = " ".join(text.split())  # the console wraps long lines
    [job_id] = re.findall(r"waits on job id ([0-9a-f-]{36}) \(its correlation key\)", words)
    assert f'{{"correlationKey": "{job_id}", "status": "SUCCEED"' in words
    assert "InvalidInput: IsManualCallback must be" in text
    # The last flow waits out the app's real 7-day timeout on the advanced clock, and its timeline
    # says so: the task timed out a week (and some milliseconds) after it was scheduled.
    assert "advancing the clock 7 d" in text
    last_flow = text[text.index("advancing the clock 7 d") :]
    scheduled = re.search(r"\+(\d+) ms\s+Long job execution\s+TaskScheduled", last_flow)
    timed_out = re.search(r"\+(\d+) d (\d\d):(\d\d):(\d\d\.\d{3})\s+Long job execution\s+TaskTimedOut", last_flow)
    assert scheduled
    assert timed_out
    days, hours, minutes, seconds = timed_out.groups()
    after_start = timedelta(days=int(days), hours=int(hours), minutes=int(minutes), seconds=float(seconds))
    waited = after_start - timedelta(milliseconds=int(scheduled.group(1)))
    assert abs(waited - timedelta(days=7)) < timedelta(seconds=1)


def test_a_flow_ending_otherwise_is_not_as_expected():
    rejected = next(flow for flow in FLOWS if flow.expected_error == "JobRejected")

    assert Outcome(rejected, status="FAILED", error="JobRejected").as_expected
    assert not Outcome(rejected, status="SUCCEEDED").as_expected
    assert not Outcome(rejected, status="FAILED", error="JobRejected", problems=["never paused"]).as_expected


@pytest.mark.parametrize(("finished", "exit_status"), [(True, 0), (False, 1)])
def test_the_demo_command_runs_the_demo_and_says_how_it_ended(monkeypatch, finished, exit_status):
    # `make demo` is `python -m pausable_sfn demo`: the command, not only the function, must reach it.
    runs = []
    monkeypatch.setattr(demo, "run", lambda console: runs.append(console) or finished)

    assert cli.main(["demo"]) == exit_status
    assert len(runs) == 1

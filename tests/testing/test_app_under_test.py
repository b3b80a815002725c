"""The app a test session deploys: synthesized once per run whatever the number of pytest-xdist
workers, read from a cdk.out, and its resources found by the names their author gave them."""

import json
import sys
import threading
from pathlib import Path

import pytest

from pausable_sfn.testing.app_under_test import AppError, StackResources, synthesize_once

# An app that writes the smallest cloud assembly into CDK_OUTDIR, and counts how often it ran.
FAKE_APP = """
import json, os, pathlib, sys, time
with open("runs.txt", "a") as runs:
    runs.write("run\\n")
time.sleep(0.5)  # long enough that a second worker asks while the first synthesizes
if os.environ.get("FAIL"):
    sys.exit("the app could not find its settings")
out = pathlib.Path(os.environ["CDK_OUTDIR"])
out.mkdir(parents=True, exist_ok=True)
(out / "manifest.json").write_text(json.dumps({"artifacts": {}}))
"""


def synthesize_in_two_workers(project: Path, shared: Path) -> list[Path | Exception]:
    results: list[Path | Exception] = []

    def worker() -> None:
        try:
            results.append(synthesize_once(f"{sys.executable} app.py", cwd=project, shared=shared))
        except AppError as error:
            results.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_two_workers_of_one_run_share_one_synth(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text(FAKE_APP)
    monkeypatch.chdir(tmp_path)

    results = synthesize_in_two_workers(tmp_path, tmp_path / "run")

    assert results[0] == results[1] == tmp_path / "run" / "pausable-sfn-synth" / "cdk.out"
    assert (tmp_path / "runs.txt").read_text() == "run\n"


def test_a_synth_that_fails_fails_every_worker_with_the_apps_own_words(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text(FAKE_APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAIL", "1")

    results = synthesize_in_two_workers(tmp_path, tmp_path / "run")

    assert len(results) == 2
    assert all("the app could not find its settings" in str(result) for result in results)
    assert (tmp_path / "runs.txt").read_text() == "run\n"


def test_a_cdk_out_that_is_not_there_is_named_as_a_missing_assembly_not_a_command(tmp_path):
    with pytest.raises(AppError, match=r"no cloud assembly at .*cdk\.out: synthesize the app there first"):
        synthesize_once("cdk.out", cwd=tmp_path, shared=tmp_path)


def test_a_name_that_several_resources_answer_to_is_refused_with_their_paths(tmp_path):
    metadata = {
        "/Shop/Orders/Default/Resource": [{"type": "aws:cdk:logicalId", "data": "OrdersA"}],
        "/Shop/Returns/Orders/Resource": [{"type": "aws:cdk:logicalId", "data": "ReturnsOrdersB"}],
    }
    machine = {"Type": "AWS::StepFunctions::StateMachine"}
    (tmp_path / "Shop.template.json").write_text(
        json.dumps({"Resources": {"OrdersA": machine, "ReturnsOrdersB": machine}})
    )
    manifest = {"artifacts": {"Shop": {"type": "aws:cloudformation:stack", "metadata": metadata}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    resources = StackResources.read(tmp_path)

    with pytest.raises(AppError, match=r"'Orders' names 2 state machines of Shop \(Orders, Returns/Orders\)"):
        resources.find("AWS::StepFunctions::StateMachine", "Orders", what="state machine")
    assert resources.find("AWS::StepFunctions::StateMachine", "Returns/Orders", what="state machine").logical_id == (
        "ReturnsOrdersB"
    )

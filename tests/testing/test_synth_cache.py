"""A test session reuses the assembly a session synthesized before while the app's inputs are
unchanged, and synthesizes again when one of them changes, or when told to."""

import os
import threading
from pathlib import Path

import pytest

from pausable_sfn.testing.synth_cache import KEPT, AssemblyCache, inputs_key

# An app that writes a cloud assembly of one empty stack into CDK_OUTDIR, and counts its synths.
COUNTED_APP = """
import json, os, pathlib
with open(os.environ["SYNTHS_FILE"], "a") as synths:  # outside the project: not an input
    synths.write("synth\\n")
out = pathlib.Path(os.environ["CDK_OUTDIR"])
out.mkdir(parents=True, exist_ok=True)
(out / "Empty.template.json").write_text(json.dumps({"Resources": {}}))
stack = {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Empty.template.json"}}
(out / "manifest.json").write_text(json.dumps({"artifacts": {"Empty": stack}}))
"""


def project(folder: Path) -> Path:
    (folder / "app.py").write_text("print('app')\n")
    (folder / "cdk.json").write_text('{"app": "python app.py"}')
    return folder


@pytest.mark.parametrize(
    "change",
    [
        lambda p: (p / "app.py").write_text("print('changed app')\n"),
        lambda p: (p / "cdk.json").write_text('{"app": "python app.py", "context": {"stage": "test"}}'),
        lambda p: (p / "lambda").mkdir() or (p / "lambda" / "handler.py").write_text("def handler(e, c): pass\n"),
        lambda p: os.environ.__setitem__("CDK_CONTEXT_JSON", '{"stage": "other"}'),
    ],
    ids=["a source", "cdk.json", "a new asset file", "CDK's context variable"],
)
def test_a_changed_input_changes_the_key(tmp_path, monkeypatch, change):
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)
    before = inputs_key("python app.py", project(tmp_path))

    change(tmp_path)

    assert inputs_key("python app.py", tmp_path) != before


def test_what_a_synth_writes_a_virtualenv_holds_or_a_test_says_is_no_input(tmp_path):
    before = inputs_key("python app.py", project(tmp_path))
    for folder in ("cdk.out", "cdk.out.old", "__pycache__", ".venv", "node_modules", ".pytest_cache", "tests"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "written.json").write_text("{}")
    for test_file in ("test_orders.py", "orders_test.py", "conftest.py", "pytest.ini"):
        (tmp_path / test_file).write_text("# a test, which the synth does not read\n")

    assert inputs_key("python app.py", tmp_path) == before
    assert inputs_key("python3 app.py", tmp_path) != before  # the command is an input


def test_workers_that_put_one_key_at_once_leave_one_copy(tmp_path):
    assembly = tmp_path / "synthesized"
    assembly.mkdir()
    (assembly / "manifest.json").write_text("{}")
    cache = AssemblyCache(tmp_path / "cache")

    kept = []
    threads = [threading.Thread(target=lambda: kept.append(cache.put("k", assembly))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(kept) == {tmp_path / "cache" / "k" / "cdk.out"}
    assert cache.get("k") == tmp_path / "cache" / "k" / "cdk.out"
    assert [entry.name for entry in (tmp_path / "cache").iterdir()] == ["k"]


def test_only_the_newest_assemblies_are_kept(tmp_path):
    assembly = tmp_path / "synthesized"
    assembly.mkdir()
    (assembly / "manifest.json").write_text("{}")
    cache = AssemblyCache(tmp_path / "cache")

    for number in range(KEPT + 2):
        cache.put(f"key-{number}", assembly)
        os.utime(tmp_path / "cache" / f"key-{number}", (number, number))

    cache.put("newest", assembly)
    assert cache.get("key-0") is None
    assert cache.get("newest") is not None
    assert len(list((tmp_path / "cache").iterdir())) == KEPT


def test_a_session_reuses_the_assembly_until_the_app_changes_or_is_synthesized_anew(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    synths = tmp_path_factory.mktemp("counted") / "synths.txt"
    monkeypatch.setenv("SYNTHS_FILE", str(synths))
    # The project in a folder of its own: pytester writes its own files beside it, not into it.
    project = pytester.mkdir("project")
    (project / "pytest.ini").write_text("[pytest]\npausable_sfn_app = python app.py\n")
    (project / "app.py").write_text(COUNTED_APP)
    (project / "test_workflow.py").write_text("def test_x(embedded_aws):\n    assert embedded_aws.outputs == {}\n")

    def session(*args: str) -> int:
        pytester.runpytest_subprocess("project", *args).assert_outcomes(passed=1)
        return len(synths.read_text().splitlines())

    assert session() == 1
    assert session() == 1  # unchanged: reused
    (project / "test_workflow.py").write_text("def test_y(embedded_aws):\n    assert embedded_aws.outputs == {}\n")
    assert session() == 1  # a test is no input of the synth
    (project / "app.py").write_text(COUNTED_APP + "\n# changed\n")
    assert session() == 2
    assert session("--pausable-sfn-synth") == 3
    assert session("-p", "no:cacheprovider") == 4  # without pytest's cache, nothing is kept

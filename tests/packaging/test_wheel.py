"""The wheel is the product: built from this tree and installed into a fresh virtualenv with the
construct-library extra, it gives a working `pausable-sfn` and synthesizes the README's example app.

Nothing of this checkout is importable there: the virtualenv sees only what the wheel declares.
"""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pausable_sfn import PROJECT_ROOT

from ..readme import docs_example_project, example_app

# The slowest fixtures of the suite (about 20 s of pip): built once per run, started before the rest.
pytestmark = pytest.mark.first


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def pinned_versions(folder: Path) -> Path:
    """requirements.txt (and the dev pins: pytest) as pip constraints (which take no extras): the
    wheel is installed with the very releases the suite tests, from pip's cache when it has them."""
    lines = [
        line
        for name in ("requirements.txt", "requirements-dev.txt")
        for line in (PROJECT_ROOT / name).read_text().splitlines()
    ]
    pins = [re.sub(r"\[[^\]]*\]", "", line) for line in lines if re.match(r"^[A-Za-z]", line)]
    constraints = folder / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    return constraints


@pytest.fixture(scope="session")
def wheel(built_once) -> Path:
    """Built as a release is: the sdist first, the wheel from the sdist (which also proves that the
    sdist is complete, and leaves no build folder in the checkout)."""

    def build(dist: Path) -> None:
        built = run([sys.executable, "-m", "build", "--outdir", str(dist), str(PROJECT_ROOT)], cwd=dist)
        assert built.returncode == 0, built.stdout + built.stderr

    [wheel] = built_once("wheel", build).glob("pausable_sfn-*.whl")
    return wheel


def fresh_virtualenv(built_once, name: str, *requirements: str) -> Path:
    """The bin folder of a fresh virtualenv holding `requirements`, nothing else."""

    def create(root: Path) -> None:
        # No pip of its own (this one installs into it) and no .pyc compiled ahead: half the time.
        created = run([sys.executable, "-m", "venv", "--without-pip", str(root)], cwd=root)
        assert created.returncode == 0, created.stderr
        pip = [sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install", "--no-compile"]
        options = ["--quiet", "--disable-pip-version-check", "-c", str(pinned_versions(root))]
        installed = run([*pip, *options, *requirements], cwd=root)
        assert installed.returncode == 0, installed.stdout + installed.stderr

    return built_once(name, create) / "bin"


@pytest.fixture(scope="session")
def venv(wheel: Path, built_once) -> Path:
    """The wheel with its [cdk] extra, nothing else."""
    return fresh_virtualenv(built_once, "venv", f"{wheel}[cdk]")


@pytest.fixture(scope="session")
def testing_venv(wheel: Path, built_once) -> Path:
    """What a user who tests their workflows installs: the wheel with both extras, and pytest."""
    return fresh_virtualenv(built_once, "testing-venv", f"{wheel}[cdk,local]", "pytest")


def clean_environment(bin_dir: Path, home: Path) -> dict[str, str]:
    """No PYTHONPATH, no project on the path: only the virtualenv, with fake credentials and no endpoint."""
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_the_wheel_ships_the_lambda_asset_and_the_type_marker_but_no_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()

    assert "pausable_sfn/lambda_asset/handlers/resume_step_function.py" in names
    assert "pausable_sfn/lambda_asset/handlers/contracts.py" in names
    assert "pausable_sfn/app/feature_flags.json" in names
    assert "pausable_sfn/py.typed" in names
    assert not [name for name in names if name.startswith(("tests/", "bench/"))]


def test_the_installed_cli_runs_and_says_in_one_line_that_aws_is_unreachable(venv, tmp_path):
    environment = clean_environment(venv, tmp_path) | {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}

    version = run([str(venv / "pausable-sfn"), "--version"], cwd=tmp_path, env=environment)
    paused = run([str(venv / "pausable-sfn"), "paused"], cwd=tmp_path, env=environment)

    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "pausable-sfn 0.1.0"
    assert paused.returncode == 1
    [line] = paused.stderr.splitlines()
    assert line.startswith("pausable-sfn: cannot reach AWS")


def test_a_tool_whose_extra_is_missing_says_which_extra_to_install(venv, tmp_path):
    served = run([str(venv / "pausable-sfn"), "local", "serve"], cwd=tmp_path, env=clean_environment(venv, tmp_path))

    assert served.returncode == 1
    [line] = served.stderr.splitlines()
    assert "pip install 'pausable-sfn[cdk,local]'" in line


def test_the_readme_example_synthesizes_with_the_installed_construct_library(venv, tmp_path):
    (tmp_path / "app.py").write_text(example_app())
    environment = clean_environment(venv, tmp_path) | {"CDK_OUTDIR": str(tmp_path / "cdk.out")}

    synth = run([str(venv / "python"), "app.py"], cwd=tmp_path, env=environment)

    assert synth.returncode == 0, synth.stdout + synth.stderr
    template = json.loads((tmp_path / "cdk.out" / "OrderStack.template.json").read_text())
    [machine] = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    # Both steps invoke a function of the library: packing its registrar (the order's id is the
    # key), approval its request function (a person is asked).
    assert definition.count("lambda:invoke.waitForTaskToken") == 2
    assert "correlationKey" in definition
    assert any(
        r["Type"] == "AWS::DynamoDB::Table" and "ByExecution" in json.dumps(r) for r in template["Resources"].values()
    )
    assert any(r["Type"] == "AWS::Lambda::Url" for r in template["Resources"].values())


def test_a_new_project_tests_its_workflow_as_the_docs_page_says_with_plain_pytest(testing_venv, tmp_path):
    # The README's app.py, and the docs page's configuration, tests and mock file, as a user copies them.
    tests = docs_example_project(tmp_path)

    session = run(
        [str(testing_venv / "python"), "-m", "pytest", "-p", "no:cacheprovider", "--durations=0", "-vv"],
        cwd=tmp_path,
        env=clean_environment(testing_venv, tmp_path),
    )

    assert session.returncode == 0, session.stdout + session.stderr
    assert f"{tests.count(chr(10) + 'def test_')} passed" in session.stdout

"""A user's project as the plugin meets it: the README's order app, synthesized once per run, and
a folder of their own with their pytest.ini and their tests, run by pytest in a process of its own,
as they run it (pytester's in-process runs would share this process's imported moto and clock,
which a second session in one process cannot patch afresh)."""

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..e2e.test_readme_example import synthesized_app
from ..readme import example_app

# One user session: start, synthesize or read the app, deploy it, run the tests.
SESSION_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="session")
def order_assembly(built_once) -> Path:
    """The README's order app (OrderStack), synthesized once and shared by the workers."""

    def build(folder: Path) -> None:
        synthesized_app(folder, example_app())

    return built_once("order-app", build) / "cdk.out"


@dataclass(frozen=True)
class UserRun:
    """What pytest reported to the user: its output, and each test's outcome and message."""

    output: str
    outcomes: dict[str, str]  # test name → passed, failed, error, skipped
    messages: dict[str, str]  # test name → the failure's, error's or skip's text

    def outcome(self, test: str) -> str:
        assert test in self.outcomes, f"{test} did not run:\n{self.output}"
        return self.outcomes[test]


def write_project(folder: Path, tests: str, settings: dict[str, str], files: dict[str, str] | None = None) -> Path:
    """A user's project: pytest.ini with the plugin's settings, tests/test_workflow.py, more files."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f"{key} = {value}" for key, value in settings.items())
    (folder / "pytest.ini").write_text(f"[pytest]\n{lines}\n")
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "test_workflow.py").write_text(textwrap.dedent(tests))
    for name, text in (files or {}).items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def run_user_tests(folder: Path, *args: str, environment: dict[str, str] | None = None) -> UserRun:
    """`pytest` in the user's project, in a process of its own, without this suite's settings
    (its AWS variables among them), with `environment` added."""
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "AWS_"))},
        **(environment or {}),
    }
    report = folder / "report.xml"
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_SECONDS,
    )
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    if report.exists():
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            name = case.get("name", "")
            outcomes[name] = "passed"
            for kind in ("failure", "error", "skipped"):
                found = case.find(kind)
                if found is not None:
                    outcomes[name] = "failed" if kind == "failure" else kind
                    messages[name] = f"{found.get('message', '')}\n{found.text or ''}"
    return UserRun(finished.stdout + finished.stderr, outcomes, messages)

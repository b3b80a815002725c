"""The generic layers know no app: the operations, the operator CLI and the console take the demo's
stack, outputs and input fields as AppConventions, and work on any state machine without them."""

import argparse
import ast
import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import pausable_sfn
from pausable_sfn.app.conventions import DEMO
from pausable_sfn.ops.cli import EXIT_OK, _start, add_operator_commands
from pausable_sfn.ops.conventions import NO_APP, AppConventions
from pausable_sfn.ops.errors import UsageError
from pausable_sfn.ops.operations import Operations

PACKAGE = Path(pausable_sfn.__file__).parent
# What only the demo app may say: its state, its input and payload fields, its stack.
DEMO_LITERALS = ("Long job execution", "IsManualCallback", "isManualCallback", "PausableStepFunctionStack")
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"


def sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("source", sources("ops", "console"), ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_no_demo_name_is_written_in_the_operations_or_the_console(source):
    text = source.read_text(encoding="utf-8")

    assert [literal for literal in DEMO_LITERALS if literal in text] == []


@pytest.mark.parametrize("source", sources("console"), ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_no_text_of_the_console_tells_a_browser_user_to_pass_a_flag(source):
    strings = [
        node.value
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]

    assert [text for text in strings if " --" in f" {text}" and "--" in text.replace("-->", "")] == []


def operator_parser(conventions: AppConventions) -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pausable-sfn")
    add_operator_commands(root.add_subparsers(dest="command"), conventions)
    return root


def help_of(conventions: AppConventions, *words: str) -> str:
    """The help text, on one line: argparse wraps it to the terminal's width."""
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        operator_parser(conventions).parse_args([*words, "--help"])
    return " ".join(out.getvalue().split())


def test_without_an_app_the_cli_offers_no_flag_that_needs_one_nor_its_examples():
    start, paused, resume = (help_of(NO_APP, command) for command in ("start", "paused", "resume"))

    assert "--manual" not in start
    assert "--job-duration" not in start
    assert "--state-machine arn:aws:states" in start  # the example that needs no app stays
    assert "--manual-only" not in paused
    assert "--via-lambda" not in resume
    assert "name the state machine (default" not in start


def test_the_demo_s_conventions_give_the_flags_users_have():
    assert "--manual" in help_of(DEMO, "start")
    assert "--job-duration" in help_of(DEMO, "start")
    assert "name the state machine (default PausableStepFunctionStack)" in help_of(DEMO, "start")
    assert "isManualCallback in the payload" in help_of(DEMO, "paused")
    assert "--via-lambda" in help_of(DEMO, "resume")


class Starting:
    """Stands in for Operations: records the input an execution is started with."""

    def __init__(self, conventions: AppConventions) -> None:
        self.conventions = conventions
        self.started: list[Any] = []

    def start(self, execution_input: Any, name: str | None = None) -> dict[str, Any]:
        self.started.append(execution_input)
        return {"executionArn": f"{ARN}:run", "startDate": None}


@pytest.mark.parametrize(
    ("conventions", "expected"),
    [
        (DEMO, {"ticket": "T-1", "IsManualCallback": "True", "JobDurationSeconds": 2.5}),
        (
            AppConventions(manual_input={"approver": "person"}, job_duration_input="seconds"),
            {"ticket": "T-1", "approver": "person", "seconds": 2.5},
        ),
    ],
    ids=["demo", "another app"],
)
def test_start_manual_and_job_duration_add_what_the_conventions_say(capsys, conventions, expected):
    args = operator_parser(conventions).parse_args(
        ["start", "--manual", "--job-duration", "2.5", "--input", '{"ticket": "T-1"}']
    )
    operations = Starting(conventions)

    assert _start(operations, args, Console(quiet=True)) == EXIT_OK  # type: ignore[arg-type]
    assert operations.started == [expected]
    assert capsys.readouterr().out == f"{ARN}:run\n"


def test_without_an_app_a_stack_cannot_be_meant_by_default():
    with pytest.raises(UsageError, match="name the state machine: pass --state-machine ARN"):
        _ = Operations(region="us-east-1").state_machine_arn


def test_without_an_app_a_stack_s_outputs_are_not_guessed():
    with pytest.raises(UsageError, match="which output of stack Mine names the state machine is not known"):
        _ = Operations(stack="Mine", region="us-east-1").state_machine_arn


def test_a_state_machine_named_by_its_arn_needs_no_app():
    assert Operations(state_machine=ARN).state_machine_arn == ARN

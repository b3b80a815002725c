"""The app is synthesized once per test session (jsii makes each synth cost seconds)."""

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from pausable_sfn.app.cdk_app import build_app
from pausable_sfn.contracts import STACK_NAME

from ..templates import Synthesized


def synthesize(context: dict[str, Any] | None = None) -> Synthesized:
    assembly = build_app(context).synth()
    stack = assembly.get_stack_by_name(STACK_NAME)
    return Synthesized(Template.from_json(stack.template), stack.template, Path(assembly.directory))


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    return synthesize()


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template

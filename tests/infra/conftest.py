"""The app's template, read from the assembly the whole run shares (jsii makes each synth cost seconds)."""

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from pausable_sfn.app.cdk_app import build_app
from pausable_sfn.app.names import STACK_NAME

from ..templates import Synthesized


def synthesize(context: dict[str, Any] | None = None) -> Synthesized:
    assembly = build_app(context).synth()
    stack = assembly.get_stack_by_name(STACK_NAME)
    return Synthesized(Template.from_json(stack.template), stack.template, Path(assembly.directory))


@pytest.fixture(scope="session")
def synthesized(synthesized_once) -> Synthesized:
    """The app as `make demo` and the e2e tests deploy it: the same synthesis, not one per worker."""
    assembly_dir = synthesized_once("app")
    raw = json.loads((assembly_dir / f"{STACK_NAME}.template.json").read_text())
    return Synthesized(Template.from_json(raw), raw, assembly_dir)


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template

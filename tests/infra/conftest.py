"""The app is synthesized once per test session (jsii makes each synth cost seconds)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from pausable_sfn.app.cdk_app import build_app
from pausable_sfn.contracts import STACK_NAME


@dataclass(frozen=True)
class Synthesized:
    template: Template
    raw: dict[str, Any]
    assembly_dir: Path

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.raw["Resources"].items() if value["Type"] == resource_type}

    def logical_id(self, resource_type: str, prefix: str) -> str:
        [logical_id] = [key for key in self.resources(resource_type) if key.startswith(prefix)]
        return logical_id

    def definition(self) -> dict[str, Any]:
        """The state machine's ASL, with each CloudFormation token written as <Ref> or <Id.Attr>."""
        [machine] = self.resources("AWS::StepFunctions::StateMachine").values()
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        return json.loads("".join(part if isinstance(part, str) else _placeholder(part) for part in parts))


def _placeholder(token: dict[str, Any]) -> str:
    if "Ref" in token:
        return f"<{token['Ref']}>"
    logical_id, attribute = token["Fn::GetAtt"]
    return f"<{logical_id}.{attribute}>"


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

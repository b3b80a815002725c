"""Reading a synthesized template as the tests need it: resources by type, and state machines as ASL."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template


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

    def definition(self, prefix: str = "") -> dict[str, Any]:
        """The ASL of the state machine whose logical id starts with `prefix` (the only one when
        none is given), with each CloudFormation token written as <Ref> or <Id.Attr>."""
        machine = self.raw["Resources"][self.logical_id("AWS::StepFunctions::StateMachine", prefix)]
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        return json.loads("".join(part if isinstance(part, str) else _placeholder(part) for part in parts))


def _placeholder(token: dict[str, Any]) -> str:
    if "Ref" in token:
        return f"<{token['Ref']}>"
    logical_id, attribute = token["Fn::GetAtt"]
    return f"<{logical_id}.{attribute}>"

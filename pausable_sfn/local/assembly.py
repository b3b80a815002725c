"""Reads a synthesized cloud assembly (`cdk.out`): a stack's template and where its assets are."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AssemblyError(ValueError):
    """The cloud assembly is missing, or does not hold what the deployer needs."""


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template: dict[str, Any]
    # S3 object key (as the template names it) → the asset's folder in the assembly
    file_assets: dict[str, Path]

    def asset_dir(self, object_key: str) -> Path:
        try:
            return self.file_assets[object_key]
        except KeyError:
            raise AssemblyError(f"the template names asset {object_key}, which the assembly does not hold") from None


def read_stack(assembly_dir: Path, stack_name: str | None = None) -> StackArtifact:
    """The named stack, or without a name the assembly's only stack."""
    manifest_file = assembly_dir / "manifest.json"
    if not manifest_file.is_file():
        raise AssemblyError(f"no cloud assembly at {assembly_dir}: synthesize the app first (make synth)")
    try:
        artifacts = json.loads(manifest_file.read_text())["artifacts"]
    except (ValueError, KeyError, TypeError):
        raise AssemblyError(f"{manifest_file} is not a cloud assembly manifest") from None
    found = sorted(name for name, art in artifacts.items() if art.get("type") == "aws:cloudformation:stack")
    if stack_name is None:
        if len(found) != 1:
            listed = ", ".join(found) or "none"
            raise AssemblyError(f"the assembly at {assembly_dir} has {len(found)} stacks ({listed}): name one")
        stack_name = found[0]
    if stack_name not in found:
        raise AssemblyError(f"the assembly at {assembly_dir} has no stack {stack_name} (it has: {', '.join(found)})")
    stack = artifacts[stack_name]
    template_file = assembly_dir / stack.get("properties", {}).get("templateFile", f"{stack_name}.template.json")
    try:
        template = json.loads(template_file.read_text())
    except (OSError, ValueError) as error:
        raise AssemblyError(f"the template of {stack_name} cannot be read ({template_file}): {error}") from None

    file_assets: dict[str, Path] = {}
    for dependency in stack.get("dependencies", []):
        artifact = artifacts[dependency]
        if artifact["type"] != "cdk:asset-manifest":
            continue
        assets = json.loads((assembly_dir / artifact["properties"]["file"]).read_text())
        for asset in assets.get("files", {}).values():
            if asset["source"].get("packaging") != "zip":
                continue
            for destination in asset["destinations"].values():
                file_assets[destination["objectKey"]] = assembly_dir / asset["source"]["path"]
    return StackArtifact(name=stack_name, template=template, file_assets=file_assets)

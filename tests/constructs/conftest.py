"""Each construct is tested on its own, in a minimal stack of a minimal app (no cdk.json, no
context): what a user who imports pausable_sfn.constructs starts from. A module synthesizes its
app once (jsii makes each synth cost seconds)."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Template

from ..templates import Synthesized


def synthesize(app: cdk.App, stack: cdk.Stack) -> Synthesized:
    artifact = app.synth().get_stack_by_name(stack.stack_name)
    return Synthesized(Template.from_json(artifact.template), artifact.template, Path(artifact.assembly.directory))

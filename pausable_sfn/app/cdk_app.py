"""Builds the CDK app; `app.py` (what cdk.json runs) and the Python tools share it."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from .names import STACK_NAME
from .stack import PausableStepFunctionStack

# The CDK feature flags the app is written for. They live in the package, not in cdk.json, so that
# a synth from Python (the tests, the embedded AWS, `pausable-sfn demo` from an installed wheel)
# builds the very template `cdk deploy` does; context from the CDK CLI (-c, cdk.json) still wins.
FEATURE_FLAGS = Path(__file__).with_name("feature_flags.json")


def build_app(context: dict[str, Any] | None = None, outdir: str | Path | None = None) -> cdk.App:
    """The app, with its feature flags and any `context` given (settings: see settings.py)."""
    app = cdk.App(
        context={**json.loads(FEATURE_FLAGS.read_text()), **(context or {})},
        outdir=str(outdir) if outdir is not None else None,
    )
    # A second copy (the live tests' short-timeout stack) is deployed under another name.
    stack_name = app.node.try_get_context("stackName") or STACK_NAME
    PausableStepFunctionStack(app, stack_name, description="Pausable Step Functions workflow (pausable-sfn)")
    # Every synth is checked against cdk-nag's AWS Solutions rules; a finding fails the synth,
    # unless it is acknowledged on its one resource, with a reason (see the stack's constructs).
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def synthesize(outdir: str | Path, context: dict[str, Any] | None = None) -> Path:
    """Synthesizes the cloud assembly into `outdir` and returns that folder."""
    return Path(build_app(context, outdir).synth().directory)

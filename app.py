#!/usr/bin/env python3
"""The CDK app: `npx cdk synth` / `make deploy`. Synthesis makes no AWS call."""

import json

import aws_cdk as cdk

from pausable_sfn import PROJECT_ROOT, STACK_NAME
from pausable_sfn.stack import PausableStepFunctionStack


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    """The app, with cdk.json's context (feature flags included) under any `context` given.

    The CDK CLI passes cdk.json's context itself; reading it here too means a synth from Python
    (tests, the embedded AWS) builds the very template `cdk deploy` would.
    """
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    app = cdk.App(context={**cdk_json.get("context", {}), **(context or {})}, outdir=outdir)
    PausableStepFunctionStack(app, STACK_NAME, description="Pausable Step Functions workflow (pausable-sfn)")
    return app


if __name__ == "__main__":
    build_app().synth()

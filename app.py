#!/usr/bin/env python3
"""The CDK app: `npx cdk synth` / `make deploy`. Synthesis makes no AWS call."""

import aws_cdk as cdk

from pausable_sfn import STACK_NAME
from pausable_sfn.stack import PausableStepFunctionStack


def build_app(context: dict | None = None) -> cdk.App:
    app = cdk.App(context=context)
    PausableStepFunctionStack(app, STACK_NAME, description="Pausable Step Functions workflow (pausable-sfn)")
    return app


if __name__ == "__main__":
    build_app().synth()

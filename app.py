#!/usr/bin/env python3
"""The CDK app that cdk.json runs (`npx cdk synth`, `make deploy`). Synthesis makes no AWS call."""

from pausable_sfn.app.cdk_app import build_app

if __name__ == "__main__":
    build_app().synth()

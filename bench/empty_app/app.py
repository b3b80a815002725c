#!/usr/bin/env python3
"""The reference for the synth benchmark: an empty CDK Python app (one empty stack)."""

import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "EmptyStack")
app.synth()

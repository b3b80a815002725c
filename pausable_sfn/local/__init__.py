"""The embedded local AWS: the synthesized app deployed into moto, its Lambda handlers run in process.

Entry point: `EmbeddedAws` (embedded.py). The pieces: assembly.py reads `cdk.out`, deployer.py
creates each resource through the AWS APIs, runtime.py runs the handlers, events.py delivers
asynchronous invocations and polls SQS event sources, moto_gaps.py works around what moto lacks.
"""

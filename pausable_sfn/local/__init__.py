"""The embedded local AWS: a synthesized CDK app deployed into moto, its Lambda code run in
execution environments of its own (one process each), as Lambda runs it, without Docker.

Entry point: `EmbeddedAws` (embedded.py). The pieces: assembly.py reads `cdk.out`, deployer.py
creates each resource through the AWS APIs, runtime.py and lambda_worker.py run the functions'
code, events.py delivers asynchronous invocations and polls SQS event sources, endpoint.py and
server.py serve it all on 127.0.0.1. Where moto falls short of AWS, each service's home
(stepfunctions/, awslambda/, sns/, sqs/, dynamodb/, core/) works around it; gaps.py is the
numbered list of those gaps.
"""

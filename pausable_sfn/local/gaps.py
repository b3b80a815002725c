"""Where moto (5.2.x) falls short of AWS, and what the embedded AWS does about it: one numbered
list for every service. Each gap is worked around in the home of the service it concerns, whose
docstring says what moto does, what AWS does, and how it is closed:

- stepfunctions/gaps.py: 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
  34, 35, 36, 37, 38, 40, 42
  (stepfunctions/jsonata.py and functions.py evaluate JSONata for gap 8, sqs_integration.py is 28, status_events.py 40,
  sdk_metadata.py 31)
- awslambda/gaps.py: 2, 7, 18, 23
- sns/gaps.py: 3
- eventbridge/gaps.py: 39
- sqs/gaps.py: 4, 41
- dynamodb/gaps.py: 17
- core/gaps.py (every service's paging): 19
- 1 is the deployer's design (deployer.py): moto's CloudFormation does not create
  AWS::SNS::Subscription and puts a state machine in the backend that does not execute it, so
  each resource is created through its own API instead.

Each gap has a test in tests/local/test_moto_gaps.py that exercises plain moto and fails once an
upgrade closes it, so that its workaround can be deleted (gap 2 is moto's design, not a gap to
close). docs/embedded-aws.md lists what still differs from AWS.
"""

from contextlib import ExitStack
from typing import TYPE_CHECKING

from .awslambda import gaps as awslambda
from .core import gaps as core
from .dynamodb import gaps as dynamodb
from .eventbridge import gaps as eventbridge
from .sns import gaps as sns
from .sqs import gaps as sqs
from .stepfunctions import gaps as stepfunctions

if TYPE_CHECKING:
    from .events import AsyncInvoker
    from .runtime import LambdaRuntime


def apply(
    patches: ExitStack,
    runtime: "LambdaRuntime",
    async_invoker: "AsyncInvoker",
    *,
    server_port: int | None,
    endpoint_url: str,
) -> None:
    """Every workaround, entered into `patches`: closing it undoes them all."""
    if server_port is not None:
        stepfunctions.point_interpreter_at(patches, server_port)
    awslambda.route_lambda_invocations(patches, runtime, async_invoker)
    awslambda.serve_function_urls(patches, endpoint_url)
    sns.deliver_to_lambda_asynchronously(patches, async_invoker)
    eventbridge.deliver_to_lambda_asynchronously(patches, async_invoker)
    sqs.delete_messages_past_retention(patches)
    stepfunctions.apply(patches)
    dynamodb.apply_dynamodb_requests_one_at_a_time(patches)
    core.refuse_malformed_page_tokens(patches)

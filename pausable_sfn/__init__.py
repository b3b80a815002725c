"""pausable-sfn: Step Functions workflows that pause for a task-token callback.

- `pausable_sfn.constructs`: the CDK constructs (pausable task, callback channel, state machine).
- `pausable_sfn.app`: PausableStepFunctionStack, the demo app built on them.
- `pausable_sfn.ops`: operations and the operator CLI (`pausable-sfn`), for any state machine.
- `pausable_sfn.local`: the embedded local AWS that deploys a synthesized CDK app into moto.
- `pausable_sfn.lambda_asset`: the Lambda handlers, deployed as they are.
- `pausable_sfn.contracts`: the limits and codes all of them share (the demo's names are in `app.names`).
"""

from pathlib import Path

# The checkout this package runs from, if any: cdk.json, node_modules and the tests live there.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

"""pausable-sfn: a Step Functions workflow that pauses for a callback, as a CDK app and tools."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"
# Names users meet (in the console, the CLI, the docs); light to import, unlike the CDK modules.
STACK_NAME = "PausableStepFunctionStack"
STATE_MACHINE_NAME = "PausableStepFunction"
LONG_JOB_STATE = "Long job execution"
# The longest job the state machine accepts: the longest SQS delay, which is how the emulated job
# waits. (The Lambda asset, which imports nothing from here, states it again in its contracts.)
MAX_JOB_DURATION_SECONDS = 900
# The most calls at once that `resume --all-paused --concurrency` may make (the CLI checks it,
# the operations size their connection pool from it).
MAX_CONCURRENCY = 32

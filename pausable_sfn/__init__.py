"""pausable-sfn: a Step Functions workflow that pauses for a callback, as a CDK app and tools."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"
STACK_NAME = "PausableStepFunctionStack"

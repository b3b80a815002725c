"""What the operator CLI and the console are told of the demo (`pausable_sfn.cli` passes it in):
the default stack, the outputs that name its state machine and functions, and the input fields of
`start --manual` and `--job-duration`. Standard library only, as the CLI of a base install reads it."""

from types import MappingProxyType

from ..ops.conventions import AppConventions, StackOutputs
from .names import (
    APPROVAL_FUNCTION_OUTPUT,
    JOB_DURATION_INPUT,
    MANUAL_FLAG,
    MANUAL_INPUT,
    RESUME_FUNCTION_OUTPUT,
    STACK_NAME,
    STATE_MACHINE_ARN_OUTPUT,
)

DEMO = AppConventions(
    stack=STACK_NAME,
    outputs=StackOutputs(
        state_machine_arn=STATE_MACHINE_ARN_OUTPUT,
        resume_function=RESUME_FUNCTION_OUTPUT,
        approval_function=APPROVAL_FUNCTION_OUTPUT,
    ),
    manual_flag=MANUAL_FLAG,
    manual_input=MappingProxyType({MANUAL_INPUT: "True"}),
    job_duration_input=JOB_DURATION_INPUT,
    # The two inputs the README documents.
    start_examples=MappingProxyType(
        {
            "Automatic callback": MappingProxyType({MANUAL_INPUT: "False", JOB_DURATION_INPUT: 10}),
            "Manual callback": MappingProxyType({MANUAL_INPUT: "True"}),
        }
    ),
)

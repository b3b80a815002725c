"""The demo's names: its stack, the outputs the tools read, its state machine, its waiting state and
the fields of its input and of its task's payload. Only the demo knows them (an import contract
keeps them here); the operator CLI and the console are told them through `conventions.py`.

Standard library only: the operator CLI of a base install, which has no CDK, imports this module.
"""

STACK_NAME = "PausableStepFunctionStack"
# The stack's outputs that the tools read.
STATE_MACHINE_ARN_OUTPUT = "StateMachineArn"
RESUME_FUNCTION_OUTPUT = "ResumeStepFunctionFunctionName"
APPROVAL_FUNCTION_OUTPUT = "ApprovalFunctionName"
APPROVAL_TOPIC_OUTPUT = "ApprovalRequestsTopicArn"
STATE_MACHINE_NAME = "PausableStepFunction"
LONG_JOB_STATE = "Long job execution"
# The execution input a user types.
MANUAL_INPUT = "IsManualCallback"
JOB_DURATION_INPUT = "JobDurationSeconds"
# The field of the task's payload that says a person, not a service, holds the token.
MANUAL_FLAG = "isManualCallback"
# The id an automatic execution gives its job: the key the external service calls back with.
JOB_ID = "jobId"

"""The state machine: Preprocessing → Long job execution (paused on a task token) → Post processing.

Input is checked in the state machine itself, before anything is called: a bad execution input
fails at once with the error InvalidInput and a cause naming the field. Only JSONPath is used,
so the embedded AWS (moto) can run every state.
"""

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .settings import Settings

STATE_MACHINE_NAME = "PausableStepFunction"
LONG_JOB_STATE = "Long job execution"
INVALID_INPUT = "InvalidInput"
DEFAULT_JOB_DURATION_SECONDS = 10
MAX_JOB_DURATION_SECONDS = 900  # the longest SQS delay, which is how the emulated job waits

C = sfn.Condition


def _flag_equals(path: str, value: bool) -> sfn.Condition:
    """True when the flag at `path` is `value` as a JSON boolean or as "True"/"true" ("False"/"false")."""
    word = str(value)
    return C.or_(C.string_equals(path, word), C.string_equals(path, word.lower()), C.boolean_equals(path, value))


class PausableWorkflow(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, call_async_service: lambda_.IFunction, settings: Settings
    ) -> None:
        super().__init__(scope, construct_id)

        def reject(state_id: str, cause: str) -> sfn.Fail:
            return sfn.Fail(self, state_id, error=INVALID_INPUT, cause=cause)

        # The caller's input is kept whole under $.request; normalised values sit beside it.
        preprocessing = sfn.Pass(
            self, "Preprocessing", comment="Keeps the execution input under $.request", parameters={"request.$": "$"}
        )
        check_object = sfn.Choice(self, "Check input is an object").when(
            C.or_(*(check("$.request") for check in (C.is_string, C.is_numeric, C.is_boolean, C.is_null))),
            reject("Reject input that is not an object", "The execution input must be a JSON object."),
        )

        manual_flag = "$.request.IsManualCallback"
        automatic = sfn.Pass(
            self, "Automatic callback", result=sfn.Result.from_boolean(False), result_path="$.isManualCallback"
        )
        manual = sfn.Pass(
            self, "Manual callback", result=sfn.Result.from_boolean(True), result_path="$.isManualCallback"
        )
        read_mode = (
            sfn.Choice(self, "Read IsManualCallback")
            .when(C.is_not_present(manual_flag), automatic)
            .when(_flag_equals(manual_flag, False), automatic)
            .when(_flag_equals(manual_flag, True), manual)
            .otherwise(
                reject(
                    "Reject IsManualCallback",
                    'IsManualCallback must be "True", "False", "true", "false", true or false.',
                )
            )
        )

        duration = "$.request.JobDurationSeconds"
        default_duration = sfn.Pass(
            self,
            "Default job duration",
            result=sfn.Result.from_number(DEFAULT_JOB_DURATION_SECONDS),
            result_path="$.jobDurationSeconds",
        )
        given_duration = sfn.Pass(
            self, "Requested job duration", input_path=duration, result_path="$.jobDurationSeconds"
        )
        read_duration = (
            sfn.Choice(self, "Read JobDurationSeconds")
            .when(C.is_not_present(duration), default_duration)
            .when(
                C.and_(
                    C.is_numeric(duration),
                    C.number_greater_than_equals(duration, 0),
                    C.number_less_than_equals(duration, MAX_JOB_DURATION_SECONDS),
                ),
                given_duration,
            )
            .otherwise(
                reject(
                    "Reject JobDurationSeconds",
                    f"JobDurationSeconds must be a number from 0 to {MAX_JOB_DURATION_SECONDS}.",
                )
            )
        )

        heartbeat = settings.long_job_heartbeat_seconds
        long_job = tasks.LambdaInvoke(
            self,
            LONG_JOB_STATE,
            comment="Hands the task token to the external service and waits for its callback",
            lambda_function=call_async_service,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "taskToken": sfn.JsonPath.task_token,
                    "isManualCallback": sfn.JsonPath.string_at("$.isManualCallback"),
                    "jobDurationSeconds": sfn.JsonPath.string_at("$.jobDurationSeconds"),
                    "executionId": sfn.JsonPath.execution_id,
                }
            ),
            result_path="$.CallAsyncServiceStep",
            task_timeout=sfn.Timeout.duration(Duration.seconds(settings.long_job_timeout_seconds)),
            heartbeat_timeout=sfn.Timeout.duration(Duration.seconds(heartbeat)) if heartbeat else None,
        )
        post_processing = sfn.Pass(self, "Post processing", comment="Runs once the long job has called back")

        automatic.next(read_duration)
        manual.next(read_duration)
        default_duration.next(long_job)
        given_duration.next(long_job)
        long_job.next(post_processing)
        definition = preprocessing.next(check_object.otherwise(read_mode))

        self.state_machine = sfn.StateMachine(
            self,
            STATE_MACHINE_NAME,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment="Pauses at 'Long job execution' until the external service (or a person) calls back",
        )

"""The state machine: Preprocessing → Long job execution (paused on a task token) → Post processing.

Input is checked in the state machine itself, before anything is called: a bad execution input
fails at once with the error InvalidInput and a cause naming the field. Only JSONPath is used,
so the embedded AWS (moto) can run every state.
"""

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..constructs.functions import depend_on_role_policy_only
from ..constructs.nag import acknowledge
from ..contracts import LONG_JOB_STATE, MAX_JOB_DURATION_SECONDS, STATE_MACHINE_NAME
from .settings import Settings

INVALID_INPUT = "InvalidInput"
EMPTY_ARRAY = "inputIsEmptyArray"  # a flag, only to tell the input [] from the object {}
TIMED_OUT = "LongJobTimedOut"
FAILED = "LongJobFailed"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
DEFAULT_JOB_DURATION_SECONDS = 10

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
        # ASL has no IsArray: a non-empty array has an item [0], and the empty one is told from {}
        # by a small flag (a copy of the input as JSON text would double the state's size, and
        # Step Functions limits it to 256 KiB). The mode states below keep $.request only, so the
        # flag goes no further.
        preprocessing = sfn.Pass(
            self,
            "Preprocessing",
            comment="Keeps the execution input under $.request",
            parameters={
                "request.$": "$",
                f"{EMPTY_ARRAY}.$": "States.ArrayContains(States.Array($), States.StringToJson('[]'))",
            },
        )
        request = "$.request"
        check_object = sfn.Choice(self, "Check input is an object").when(
            C.or_(
                *(check(request) for check in (C.is_string, C.is_numeric, C.is_boolean, C.is_null)),
                C.is_present(f"{request}[0]"),
                C.boolean_equals(f"$.{EMPTY_ARRAY}", True),
            ),
            reject("Reject input that is not an object", "The execution input must be a JSON object."),
        )

        manual_flag = "$.request.IsManualCallback"

        def mode(state_id: str, *, is_manual: bool, timeout_seconds: int) -> sfn.Pass:
            # Each mode has its own task timeout: a person may take days, a service an hour.
            return sfn.Pass(
                self,
                state_id,
                parameters={
                    "request.$": "$.request",
                    "isManualCallback": is_manual,
                    "taskTimeoutSeconds": timeout_seconds,
                },
            )

        automatic = mode("Automatic callback", is_manual=False, timeout_seconds=settings.long_job_timeout_seconds)
        manual = mode("Manual callback", is_manual=True, timeout_seconds=settings.manual_resume_timeout_seconds)
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
            task_timeout=sfn.Timeout.at("$.taskTimeoutSeconds"),
            heartbeat_timeout=sfn.Timeout.duration(Duration.seconds(heartbeat)) if heartbeat else None,
        )
        long_job.add_catch(
            sfn.Fail(
                self,
                TIMED_OUT,
                error=TIMED_OUT,
                cause_path=sfn.JsonPath.format(
                    "No callback arrived in time ({}; the task allows {} seconds).",
                    sfn.JsonPath.string_at("$.failure.Error"),
                    sfn.JsonPath.string_at("$.taskTimeoutSeconds"),
                ),
            ),
            errors=[sfn.Errors.TIMEOUT, HEARTBEAT_TIMEOUT],
            result_path="$.failure",
        )
        long_job.add_catch(self._job_failure(), errors=[sfn.Errors.ALL], result_path="$.failure")
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
            # Every event, but no execution data: inputs and parameters carry task tokens.
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self, "ExecutionLogs", retention=settings.log_retention, removal_policy=RemovalPolicy.DESTROY
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            tracing_enabled=True,
        )
        depend_on_role_policy_only(self.state_machine, self.state_machine.role)
        self._acknowledge_role_findings(call_async_service)

    def _job_failure(self) -> sfn.Choice:
        """A failed job keeps the error and cause its callback gave. Errors named States.* (a failed
        invocation, a runtime error) are Step Functions' own: a Fail state may not raise them, so
        the execution fails with LongJobFailed and a cause that names the original error."""
        error, cause = "$.failure.Error", "$.failure.Cause"
        return (
            sfn.Choice(self, "Read the job's error")
            .when(
                C.string_matches(error, "States.*"),
                sfn.Fail(
                    self,
                    f"{FAILED} in Step Functions",
                    error=FAILED,
                    cause_path=sfn.JsonPath.format(
                        "{}: {}", sfn.JsonPath.string_at(error), sfn.JsonPath.string_at(cause)
                    ),
                ),
            )
            .otherwise(sfn.Fail(self, FAILED, error_path=error, cause_path=cause))
        )

    def _acknowledge_role_findings(self, call_async_service: lambda_.IFunction) -> None:
        call_function_id = Stack.of(self).get_logical_id(call_async_service.node.default_child)
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing and CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups, "
            "DescribeResourcePolicies, PutResourcePolicy) take no resource-level permission.",
        )
        acknowledge(
            self.state_machine.role,
            f"AwsSolutions-IAM5[Resource::<{call_function_id}.Arn>:*]",
            "Invoking the one function CallAsyncServiceLambda, any version or alias of it (ARN:*), as the Lambda "
            "task grants it.",
        )

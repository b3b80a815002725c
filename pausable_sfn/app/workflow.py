"""The state machine: Preprocessing → Long job execution (paused on a task token) → Post processing.

Input is checked in the state machine itself, before anything is called: a bad execution input
fails at once with the error InvalidInput and a cause naming the field. Only JSONPath is used,
so the embedded AWS (moto) can run every state.
"""

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..constructs import CallbackChannel, PausableStateMachine, PausableTask
from ..constructs.state_machine import Resumer
from ..contracts import MAX_JOB_DURATION_SECONDS
from .names import JOB_ID, LONG_JOB_STATE, MANUAL_FLAG, STATE_MACHINE_NAME
from .settings import Settings

INVALID_INPUT = "InvalidInput"
EMPTY_ARRAY = "inputIsEmptyArray"  # a flag, only to tell the input [] from the object {}
# The long job ends with LongJobTimedOut or LongJobFailed, the errors the README documents.
LONG_JOB_ERRORS = "LongJob"
DEFAULT_JOB_DURATION_SECONDS = 10

C = sfn.Condition


def _flag_equals(path: str, value: bool) -> sfn.Condition:
    """True when the flag at `path` is `value` as a JSON boolean or as "True"/"true" ("False"/"false")."""
    word = str(value)
    return C.or_(C.string_equals(path, word), C.string_equals(path, word.lower()), C.boolean_equals(path, value))


class PausableWorkflow(Construct):
    """The demo's definition (input checks, the long job, post processing) on a PausableStateMachine
    that `resumers` (the callback channel, the approval page) may resume."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        call_async_service: lambda_.IFunction,
        channel: CallbackChannel,
        resumers: Sequence[Resumer],
        settings: Settings,
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
            # Each mode has its own task timeout: a person may take days, a service an hour. The
            # external service calls back by the job's id (the task's correlation key); a person
            # resumes by token or from the approval link, so a manual execution has no job id.
            # (A null written as such would vanish from the synthesized parameters.)
            job_id = {f"{JOB_ID}.$": "States.StringToJson('null')" if is_manual else "States.UUID()"}
            return sfn.Pass(
                self,
                state_id,
                parameters={
                    "request.$": "$.request",
                    MANUAL_FLAG: is_manual,
                    "taskTimeoutSeconds": timeout_seconds,
                    **job_id,
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
        long_job = PausableTask(
            self,
            LONG_JOB_STATE,
            function=call_async_service,
            comment="Hands the job to the external service, which calls back by the job's id, and waits",
            payload={
                MANUAL_FLAG: sfn.JsonPath.string_at(f"$.{MANUAL_FLAG}"),
                "jobDurationSeconds": sfn.JsonPath.string_at("$.jobDurationSeconds"),
                # For the approval request a manual execution makes: what, since when, for how long.
                "request": sfn.JsonPath.object_at("$.request"),
                "stateName": sfn.JsonPath.string_at("$$.State.Name"),
                "pausedAt": sfn.JsonPath.string_at("$$.State.EnteredTime"),
                "timeoutSeconds": sfn.JsonPath.number_at("$.taskTimeoutSeconds"),
                **({"heartbeatSeconds": heartbeat} if heartbeat else {}),
            },
            result_path="$.CallAsyncServiceStep",
            # Set by the mode states above: a person may take days, a service an hour.
            timeout=sfn.Timeout.at("$.taskTimeoutSeconds"),
            heartbeat=Duration.seconds(heartbeat) if heartbeat else None,
            error_prefix=LONG_JOB_ERRORS,
            correlation_key=f"$.{JOB_ID}",
            channel=channel,
        )
        post_processing = sfn.Pass(self, "Post processing", comment="Runs once the long job has called back")

        automatic.next(read_duration)
        manual.next(read_duration)
        default_duration.next(long_job)
        given_duration.next(long_job)
        long_job.next(post_processing)
        definition = preprocessing.next(check_object.otherwise(read_mode))

        self.state_machine = PausableStateMachine(
            self,
            STATE_MACHINE_NAME,
            definition=definition,
            channels=resumers,
            comment="Pauses at 'Long job execution' until the external service (or a person) calls back",
            log_retention=settings.log_retention,
        ).state_machine

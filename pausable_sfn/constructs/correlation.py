"""CorrelationRegistry: callbacks by business key for the pausable tasks of a CallbackChannel.

A CallbackChannel makes one when the first PausableTask with a `correlation_key` names it
(`channel.correlation`); nothing of it exists for a channel whose tasks wait by token only.
"""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..contracts import MAX_EARLY_CALLBACK_WINDOW_SECONDS
from .functions import FunctionFactory
from .grants import grant_on_state_machine, task_response
from .nag import acknowledge
from .queues import MAX_RECEIVES, secure_queue

STATUS_CHANGE = "Step Functions Execution Status Change"
ENDED = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
# How long the registrar may take: it invokes a receiver function and waits for it, as Step
# Functions would, so a receiver must answer well within this.
REGISTRAR_TIMEOUT_SECONDS = 60
WRITE_ITEMS = ["dynamodb:PutItem", "dynamodb:DeleteItem"]


class CorrelationRegistry(Construct):
    """Which task waits on which key, and the ways a callback by key comes in.

    - `table`: DynamoDB, one item per waiting task (its token encrypted with `key`, a customer
      managed KMS key that only the channel's functions may use) and per early callback; a TTL
      drops leftovers.
    - `registrar`: what a keyed task invokes. It registers the token, applies an early callback,
      fails the task with `<prefix>KeyInUse` when another execution holds the key (or puts it in
      the key's line, for a task that queues), and hands the payload (with the key, never the
      token) to the task's receiver; asked by the resume function or the janitor, it lets the
      next task in a key's line wait on the key.
    - `janitor`: dead-letters early callbacks that no task claimed within `window`, and drops the
      entries of executions that ended (EventBridge's status-change events).
    - `callback_rule`: callbacks by key sent as EventBridge events (`event_source`,
      `event_detail_type`) on `event_bus` go to the channel's resume function.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: FunctionFactory,
        resume_function: lambda_.Function,
        dead_letter_queue: sqs.IQueue,
        window: Duration,
        event_bus: events.IEventBus,
        event_source: str,
        event_detail_type: str,
    ) -> None:
        super().__init__(scope, id)
        self.window = window
        self.event_bus = event_bus
        self.event_source = event_source
        self.event_detail_type = event_detail_type
        self.key = kms.Key(
            self,
            "TokenKey",
            description="Encrypts the task tokens of the correlation registry",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.table = dynamodb.Table(
            self,
            "Registry",
            partition_key=dynamodb.Attribute(name="correlationKey", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="entry", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="deleteAfter",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.table.add_global_secondary_index(
            index_name="ByExecution",
            partition_key=dynamodb.Attribute(name="executionArn", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.expiry_queue = secure_queue(
            self,
            "EarlyCallbackWindowQueue",
            visibility_timeout=Duration.seconds(60),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=dead_letter_queue),
        )
        environment = {
            "CORRELATION_TABLE": self.table.table_name,
            "CORRELATION_KMS_KEY": self.key.key_arn,
            "EARLY_CALLBACK_WINDOW_SECONDS": str(int(window.to_seconds())),
            "EARLY_CALLBACK_QUEUE_URL": self.expiry_queue.queue_url,
            "CALLBACK_DEAD_LETTER_QUEUE_URL": dead_letter_queue.queue_url,
        }
        self.registrar = functions.create(
            "RegisterCorrelationKeyLambda",
            handler="register_correlation_key",
            description="Registers a paused task under its correlation key and hands its payload on",
            environment=environment,
            timeout_seconds=REGISTRAR_TIMEOUT_SECONDS,
        )
        self.janitor = functions.create(
            "CorrelationJanitorLambda",
            handler="correlation_janitor",
            description="Dead-letters unclaimed early callbacks; drops the registry entries of ended executions",
            environment=environment,
            timeout_seconds=30,
        )
        self.janitor.add_event_source(event_sources.SqsEventSource(self.expiry_queue, report_batch_item_failures=True))
        for name, value in environment.items():
            resume_function.add_environment(name, value)
        # Who lets a key go asks the registrar to move the key's line on (an asynchronous invoke).
        for function in (resume_function, self.janitor):
            function.add_environment("CORRELATION_REGISTRAR", self.registrar.function_name)
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.registrar.function_arn])
            )

        table_actions = {
            # DeleteItem: the registrar withdraws its registration when the receiver fails.
            self.registrar: [*WRITE_ITEMS, "dynamodb:GetItem", "dynamodb:Query"],
            resume_function: [*WRITE_ITEMS, "dynamodb:Query"],
            # Query: whether a task waits in line for a key that an ended execution held.
            self.janitor: [*WRITE_ITEMS, "dynamodb:Query"],
        }
        for function, actions in table_actions.items():
            function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[self.table.table_arn]))
        self.janitor.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{self.table.table_arn}/index/ByExecution"])
        )
        self.key.grant(self.registrar, "kms:Encrypt", "kms:Decrypt")
        self.key.grant(resume_function, "kms:Decrypt")
        for function in (resume_function, self.janitor):
            dead_letter_queue.grant_send_messages(function)
        self.expiry_queue.grant_send_messages(resume_function)

        self.callback_rule = events.Rule(
            self,
            "CallbackByKeyRule",
            description="Callbacks by correlation key, sent as events, to the resume function",
            event_bus=event_bus,
            event_pattern=events.EventPattern(source=[event_source], detail_type=[event_detail_type]),
        )
        self.callback_rule.add_target(
            targets.LambdaFunction(resume_function, dead_letter_queue=dead_letter_queue, retry_attempts=2)
        )
        acknowledge(
            self.expiry_queue,
            "AwsSolutions-SQS3",
            "Its dead-letter queue is the channel's CallbackDeadLetterQueue (a redrive policy names it).",
        )

    def watch(self, state_machine: sfn.IStateMachine, scope: Construct) -> None:
        """Lets the registrar close the tasks of `state_machine` (SendTaskFailure for a key in use,
        SendTaskSuccess/Failure for an early callback, SendTaskHeartbeat to tell whether a holder
        still waits), and sends the janitor the end of each of its executions. The rule and its
        permission are made in `scope`, beside the state machine: its stack depends on the
        channel's already (the definition names the registrar), never the other way round."""
        role = self.registrar.role
        assert role is not None
        grant_on_state_machine(
            self,
            role,
            state_machine,
            [
                task_response(
                    state_machine, "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"
                )
            ],
            # Not the role's default policy: the registrar depends on that one, and the state
            # machine on the registrar (its definition names it).
            own_policy=True,
        )
        # Named after this registry: a state machine may have tasks of two channels.
        suffix = self.node.addr[:8]
        rule = events.Rule(
            scope,
            f"ExecutionEndedRule{suffix}",
            description="The end of each execution, so that the correlation registry drops what it held for it",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[STATUS_CHANGE],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": ENDED},
            ),
        )
        janitor = lambda_.Function.from_function_attributes(
            scope, f"CorrelationJanitor{suffix}", function_arn=self.janitor.function_arn, skip_permissions=True
        )
        rule.add_target(targets.LambdaFunction(janitor, retry_attempts=2))
        lambda_.CfnPermission(
            scope,
            f"ExecutionEndedInvokesJanitor{suffix}",
            action="lambda:InvokeFunction",
            function_name=self.janitor.function_arn,
            principal="events.amazonaws.com",
            source_arn=rule.rule_arn,
        )


def validate_window(window: Duration, channel_id: str) -> None:
    milliseconds = window.to_milliseconds()
    if not 0 <= milliseconds <= MAX_EARLY_CALLBACK_WINDOW_SECONDS * 1000 or milliseconds % 1000:
        raise ValueError(
            f"CallbackChannel '{channel_id}': early_callback_window must be whole seconds from 0 to "
            f"{MAX_EARLY_CALLBACK_WINDOW_SECONDS} (15 minutes, the longest SQS delay, which times it)"
        )

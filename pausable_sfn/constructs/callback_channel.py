"""CallbackChannel: the way back into paused executions, shared by any number of tasks and state machines."""

import hashlib
import json
from collections.abc import Callable

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..contracts import CALLBACK_EVENT_DETAIL_TYPE, CALLBACK_EVENT_SOURCE
from .correlation import CorrelationRegistry, validate_window
from .functions import POWERTOOLS_VERSION, FunctionFactory
from .grants import grant_on_state_machine, task_response
from .nag import acknowledge
from .queues import dead_letter_queue


class CallbackChannel(Construct):
    """A callback published to `topic`, or given to `resume_function` directly, becomes the
    SendTaskSuccess or SendTaskFailure of the task whose token it carries.

    The callback is {"taskToken", "status"?: "SUCCEED" | "FAILED", "output"?, "error"?, "cause"?}.
    Because it names its task by the token, one channel serves every pausable task of every state
    machine that lets it in (`allow_resuming`, or PausableStateMachine's `channels`): one per app
    or per team, not one per task.

    A callback is never lost silently: what the topic cannot deliver, and what still fails after
    Lambda's two retries, is kept in `dead_letter_queue`, whose alarm goes off at the first one.
    A callback for a task that has closed already (a duplicate delivery, a late one) is reported
    by the function, not retried.

    Callbacks by key: a PausableTask with a `correlation_key` that names this channel registers
    its token under the key while it waits, and a callback may then give `correlationKey` (with
    `stateMachine`, and `state`, when several tasks wait on one key) instead of `taskToken`:
    published to the topic, sent as an EventBridge event on `event_bus` (default: the account's
    default bus) with source `event_source` and detail-type `event_detail_type` (the event's
    detail is the callback), or invoked. One that comes through the topic or EventBridge before
    its task waits is held for `early_callback_window` (whole seconds, at most 15 minutes; zero:
    not held) and applied when the task registers; one that no task claims in that time goes to
    `dead_letter_queue` with its reason. The registry (`correlation`) is made with the first task
    that has a key.

    The resources keep the names the demo app gave them (CallbackToUnpauseSfnTopic,
    ResumeStepFunctionLambda, CallbackDeadLetterQueue): users meet them in the console and the docs.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        powertools_version: str = POWERTOOLS_VERSION,
        early_callback_window: Duration | None = None,
        event_bus: events.IEventBus | None = None,
        event_source: str = CALLBACK_EVENT_SOURCE,
        event_detail_type: str = CALLBACK_EVENT_DETAIL_TYPE,
    ) -> None:
        window = early_callback_window if early_callback_window is not None else Duration.minutes(5)
        validate_window(window, id)
        if event_source.startswith("aws."):
            raise ValueError(
                f"CallbackChannel '{id}': event_source {event_source!r} is reserved for AWS services, which "
                "PutEvents refuses: give a source of your own"
            )
        super().__init__(scope, id)
        self._correlation: CorrelationRegistry | None = None
        self._window, self._event_bus = window, event_bus
        self._event_source, self._event_detail_type = event_source, event_detail_type
        self._callback_grantees: list[iam.IPrincipal] = []
        self.topic = sns.Topic(
            self,
            "CallbackToUnpauseSfnTopic",
            enforce_ssl=True,
            # Encrypted at rest with the account's AWS managed key for SNS (no key to pay for or rotate).
            master_key=kms.Alias.from_alias_name(self, "AwsManagedSnsKey", "alias/aws/sns"),
        )
        self.dead_letter_queue = dead_letter_queue(
            self, "CallbackDeadLetterQueue", holds="callbacks that could not resume their execution"
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "It is itself a dead-letter queue: of the SNS subscription and of ResumeStepFunctionLambda's failed "
            "events (a redrive policy of another queue is the only use the rule recognises).",
        )
        functions = FunctionFactory(self, log_retention=log_retention, powertools_version=powertools_version)
        self._functions = functions
        self.resume_function = functions.create(
            "ResumeStepFunctionLambda",
            handler="resume_step_function",
            description="Resumes a paused execution: SendTaskSuccess or SendTaskFailure from a callback",
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            retry_attempts=2,
        )
        self.topic.add_subscription(
            subscriptions.LambdaSubscription(self.resume_function, dead_letter_queue=self.dead_letter_queue)
        )

    @property
    def correlation(self) -> CorrelationRegistry:
        """The correlation registry, made on first use (by the first PausableTask with a key)."""
        if self._correlation is None:
            bus = self._event_bus or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
            self._correlation = CorrelationRegistry(
                self,
                "Correlation",
                functions=self._functions,
                resume_function=self.resume_function,
                dead_letter_queue=self.dead_letter_queue,
                window=self._window,
                event_bus=bus,
                event_source=self._event_source,
                event_detail_type=self._event_detail_type,
            )
            for principal in self._callback_grantees:
                self._grant_put_events(principal)
        return self._correlation

    @property
    def has_correlation(self) -> bool:
        return self._correlation is not None

    def allow_resuming(self, state_machine: sfn.IStateMachine) -> None:
        """Lets the channel close the tasks of `state_machine` (SendTaskSuccess, SendTaskFailure and
        SendTaskHeartbeat on that state machine only).

        For a state machine of another stack, the grant is a policy of that stack (see
        `grant_on_state_machine`), so that the two stacks do not depend on each other.
        """
        role = self.resume_function.role
        assert role is not None  # the channel's function has the role FunctionFactory made for it
        grant_on_state_machine(
            self,
            role,
            state_machine,
            [
                task_response(
                    state_machine, "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"
                )
            ],
        )

    def grant_callback(self, grantee: iam.IGrantable) -> None:
        """Lets `grantee` publish callbacks to the topic: what an external service needs.

        sns:Publish alone: the topic is encrypted with the AWS managed key for SNS, whose key policy
        already lets SNS use it for this account (topic.grant_publish would add KMS permissions).
        That key policy admits callers of the channel's account only, so a principal of another
        account could never publish: it is refused (ValueError), and `grant_resume` is what such a
        principal needs (it lets it invoke the resume function instead). The account is compared
        when both are known at synth: in a stack without an account, a principal of another
        account is granted sns:Publish, which will not work.

        Once the channel resumes by key (a PausableTask with a correlation_key names it, before or
        after this grant), `grantee` may also send callbacks as EventBridge events: events:PutEvents
        on the channel's bus, for the channel's event source and detail-type only.
        """
        principal = grantee.grant_principal
        if self._of_another_account(principal):
            raise ValueError(
                f"CallbackChannel '{self.node.id}': grant_callback to a principal of account "
                f"{principal.principal_account} cannot work: the topic is encrypted with the AWS managed key "
                f"alias/aws/sns, whose key policy admits callers of account {Stack.of(self).account} only; "
                "use grant_resume, which lets it invoke the resume function instead"
            )
        self._callback_grantees.append(principal)
        if self._correlation is not None:
            self._grant_put_events(principal)
        topic_arn = self.topic.topic_arn
        _grant(
            principal,
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic_arn]),
            lambda principal: self.topic.add_to_resource_policy(
                iam.PolicyStatement(actions=["sns:Publish"], resources=[topic_arn], principals=[principal])
            ),
        )

    def _grant_put_events(self, principal: iam.IPrincipal) -> None:
        """events:PutEvents on the channel's bus, for events of its callback source and detail-type only."""
        registry = self.correlation
        statement = iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[registry.event_bus.event_bus_arn],
            conditions={
                "StringEquals": {
                    "events:source": registry.event_source,
                    "events:detail-type": registry.event_detail_type,
                }
            },
        )
        principal.add_to_principal_policy(statement)

    def grant_resume(self, grantee: iam.IGrantable) -> None:
        """Lets `grantee` resume paused tasks both ways: publish callbacks to the topic, and invoke
        the resume function directly (as an operator or a CLI does, to get the answer at once).

        A role or a function is granted in its own policy. A principal without a policy of its own
        (an `iam.AccountPrincipal`) is named in the topic's policy and in a permission of the
        function instead. Either way the grant names exactly the topic and the function: not their
        versions or aliases, no wildcard.

        A principal of another account than the channel's (a role imported with
        `iam.Role.from_role_arn`, say) may only invoke the function, by a permission of the function
        naming it: this account's template cannot write into another account's role policy, and the
        topic's AWS managed key (alias/aws/sns) admits callers of the channel's account only, so
        publishing could never work. The accounts are compared when both are known at synth (the
        channel's stack has an `env` account); otherwise the principal is granted as one of this
        account.
        """
        principal = grantee.grant_principal
        of_another_account = self._of_another_account(principal)
        if not of_another_account:
            self.grant_callback(grantee)
        function = self.resume_function

        def permit(principal: iam.IPrincipal) -> None:
            function.add_permission(
                f"Resume{_principal_digest(self, principal)}", principal=principal, action="lambda:InvokeFunction"
            )

        if of_another_account:
            permit(principal)
        else:
            _grant(
                principal,
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]),
                permit,
            )

    def _of_another_account(self, principal: iam.IPrincipal) -> bool:
        """Whether `principal` is known to be of another account than the channel's stack.

        Asked before any grant: CDK's role imported from another account reports a statement added
        to its policy while none is (or writes a policy this account cannot attach)."""
        theirs, ours = principal.principal_account, Stack.of(self).account
        if theirs is None or Token.is_unresolved(theirs) or Token.is_unresolved(ours):
            return False
        return theirs != ours


def _grant(
    principal: iam.IPrincipal,
    statement: iam.PolicyStatement,
    add_to_resource: Callable[[iam.IPrincipal], object],
) -> None:
    """`statement` in the principal's own policy when it has one, else in the resource's policy."""
    if not principal.add_to_principal_policy(statement).statement_added:
        add_to_resource(principal)


def _principal_digest(scope: Construct, principal: iam.IPrincipal) -> str:
    """A short id for a principal, the same on every synth (construct ids must be unique and stable)."""
    fragment = principal.policy_fragment
    rendered = Stack.of(scope).resolve({"principal": fragment.principal_json, "conditions": fragment.conditions})
    return hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()[:8]

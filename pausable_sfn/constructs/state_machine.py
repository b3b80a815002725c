"""PausableStateMachine: a state machine made to pause, with logs that never hold a task token."""

from collections.abc import Iterable, Sequence
from typing import Protocol

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .cloudformation import depend_on_role_policy_only
from .nag import acknowledge, acknowledge_service_wildcards, as_nag_names_it
from .pausable_task import PausableTask


class Resumer(Protocol):
    """What may resume the tasks of a state machine it is let into: a CallbackChannel, a HumanApproval."""

    def allow_resuming(self, state_machine: sfn.IStateMachine) -> None: ...


class PausableStateMachine(Construct):
    """A STANDARD state machine for a definition with pausable tasks; `.state_machine` is it.

    - Logging: every event (level ALL), but without execution data. A paused task's parameters,
      and so its TaskScheduled event, carry the task token, and a token is a credential: anyone
      who reads it can end the task. The log group keeps events for `log_retention`.
    - `query_language`: JSONPath (the default) or JSONata for the whole state machine; in a
      JSONata one, every PausableTask must be JSONata too (`query_language=` on the task).
    - X-Ray tracing, so a callback's path through SNS, Lambda and Step Functions is one trace.
    - Each of `channels` (CallbackChannels, HumanApprovals) may resume the tasks of this state
      machine (`allow_resuming`), and so may the HumanApproval of each PausableTask it finds, and
      the channel of each PausableTask with a correlation key; that channel's registry is told of
      the state machine, to close its tasks and to learn when its executions end.
    - The cdk-nag findings its role must raise are acknowledged here, on the role's policy, with
      their reasons: X-Ray and CloudWatch Logs delivery take no resource-level permission, and
      the Lambda task grants invoking the versions and aliases (`<function ARN>:*`) of each
      function a PausableTask hands a token to. So an app made of these constructs synthesizes
      with cdk-nag's AWS Solutions rules and no suppression of its own.
    - A PausableTask's topic encrypted with a customer managed key: the role may use that key
      (kms:GenerateDataKey* and kms:Decrypt on it), which SNS needs to accept the message and
      CDK's SnsPublish does not grant (aws/aws-cdk#18387). The AWS managed key alias/aws/sns
      needs no grant (its key policy admits the account). That wildcard action, and the same one
      SqsSendMessage grants for a queue's customer managed key, is acknowledged naming the keys.
      Only the tasks reachable from the definition's start (catches included) are seen: for a
      PausableTask inside a Parallel branch or a Map, grant and acknowledge these yourself.

    The state machine is this construct's `Default` child: a sfn.StateMachine moved into it keeps
    its logical id, so a deployed state machine is updated rather than replaced (and its running
    executions are not lost).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        definition: sfn.IChainable,
        channels: Sequence[Resumer] = (),
        state_machine_name: str | None = None,
        comment: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        query_language: sfn.QueryLanguage | None = None,
    ) -> None:
        tasks = _reachable_pausable_tasks(definition)
        if query_language == sfn.QueryLanguage.JSONATA:
            # Step Functions refuses a JSONPath state in a JSONata state machine.
            jsonpath = [task.node.id for task in tasks if not task.jsonata]
            if jsonpath:
                raise ValueError(
                    f"PausableStateMachine '{id}': the state machine is JSONata and the tasks {', '.join(jsonpath)} "
                    "are JSONPath: give them query_language=sfn.QueryLanguage.JSONATA"
                )
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self, "ExecutionLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Default",
            state_machine_type=sfn.StateMachineType.STANDARD,
            state_machine_name=state_machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment=comment,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            query_language=query_language,
        )
        depend_on_role_policy_only(self.state_machine, self.state_machine.role)
        resumers: list[Resumer] = list(channels)
        for task in tasks:
            for needed in (task.approval, task.channel):
                if needed is not None and not any(needed is resumer for resumer in resumers):
                    resumers.append(needed)
        for resumer in resumers:
            resumer.allow_resuming(self.state_machine)
        watched: list[object] = []
        for task in tasks:
            if task.forward_policy is not None:
                # The first hand-off must find the registrar allowed to reach the receiver.
                self.state_machine.node.add_dependency(task.forward_policy)
            if task.channel is not None and not any(task.channel is channel for channel in watched):
                watched.append(task.channel)
                task.channel.correlation.watch(self.state_machine, self)
        self._grant_topic_keys(tasks)
        self._acknowledge_role_findings(tasks)

    def _grant_topic_keys(self, tasks: list[PausableTask]) -> None:
        for key in _customer_managed_keys(task.topic.master_key for task in tasks if task.topic is not None):
            key.grant(self.state_machine.role, "kms:GenerateDataKey*", "kms:Decrypt")

    def _acknowledge_role_findings(self, tasks: list[PausableTask]) -> None:
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        acknowledge_service_wildcards(
            policy,
            "X-Ray tracing and CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups, "
            "DescribeResourcePolicies, PutResourcePolicy) take no resource-level permission.",
        )
        keys = _customer_managed_keys(
            [
                *(task.topic.master_key for task in tasks if task.topic is not None),
                *(task.queue.encryption_master_key for task in tasks if task.queue is not None),
            ]
        )
        if keys:
            names = ", ".join(key.node.path for key in keys)
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                f"Encrypting the message a pausable task publishes or sends with the customer managed key of its "
                f"topic or queue ({names}), on that key only; the wildcard covers GenerateDataKey and "
                "GenerateDataKeyWithoutPlaintext, as the SNS and SQS documentation grants it.",
            )
        functions = {task.function.node.path: task.function for task in tasks if task.function is not None}
        for function in functions.values():
            arn = _arn_as_nag_names_it(function)
            if arn is not None:
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{arn}:*]",
                    f"Invoking the one function {function.node.id} that a pausable task hands its token to, any "
                    "version or alias of it (ARN:*), as the Lambda task grants it.",
                )


def _reachable_pausable_tasks(definition: sfn.IChainable) -> list[PausableTask]:
    """The PausableTasks reachable from the definition's start, catches included, each once."""
    tasks: dict[str, PausableTask] = {}
    for state in sfn.State.find_reachable_states(definition.start_state, include_error_handlers=True):
        task = state.node.scope
        if isinstance(task, PausableTask):
            tasks[task.node.path] = task
    return list(tasks.values())


def _customer_managed_keys(keys: Iterable[kms.IKey | None]) -> list[kms.IKey]:
    """The keys given, each once, but for AWS managed keys (alias/aws/...): their key policies admit
    every principal of the account that may use the service, so they need no IAM grant."""
    unique: dict[str, kms.IKey] = {}
    for key in keys:
        if key is not None and not _is_aws_managed(key):
            unique[key.node.path] = key
    return list(unique.values())


def _is_aws_managed(key: kms.IKey) -> bool:
    alias_name = getattr(key, "alias_name", None)
    return isinstance(alias_name, str) and not Token.is_unresolved(alias_name) and alias_name.startswith("alias/aws/")


def _arn_as_nag_names_it(function: lambda_.IFunction) -> str | None:
    """The function's ARN as cdk-nag writes it in a finding: <LogicalId.Arn> for a function of
    this app, the ARN itself for one imported by a literal ARN; None when it cannot be known here."""
    if isinstance(function, lambda_.Function) or not Token.is_unresolved(function.function_arn):
        return as_nag_names_it(function, function.function_arn)
    return None

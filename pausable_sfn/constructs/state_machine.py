"""PausableStateMachine: a state machine made to pause, with logs that never hold a task token."""

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .callback_channel import CallbackChannel
from .cloudformation import cfn_resource, depend_on_role_policy_only
from .nag import acknowledge
from .pausable_task import PausableTask


class PausableStateMachine(Construct):
    """A STANDARD state machine for a definition with pausable tasks; `.state_machine` is it.

    - Logging: every event (level ALL), but without execution data. A paused task's parameters,
      and so its TaskScheduled event, carry the task token, and a token is a credential: anyone
      who reads it can end the task. The log group keeps events for `log_retention`.
    - X-Ray tracing, so a callback's path through SNS, Lambda and Step Functions is one trace.
    - Each of `channels` may resume the tasks of this state machine (`allow_resuming`).
    - The cdk-nag findings its role must raise are acknowledged here, on the role's policy, with
      their reasons: X-Ray and CloudWatch Logs delivery take no resource-level permission, and
      the Lambda task grants invoking the versions and aliases (`<function ARN>:*`) of each
      function a PausableTask hands a token to. So an app made of these constructs synthesizes
      with cdk-nag's AWS Solutions rules and no suppression of its own.
      Only the tasks reachable from the definition's start (catches included) are seen: for a
      PausableTask inside a Parallel branch or a Map, acknowledge that finding yourself.

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
        channels: Sequence[CallbackChannel] = (),
        state_machine_name: str | None = None,
        comment: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
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
        )
        depend_on_role_policy_only(self.state_machine, self.state_machine.role)
        for channel in channels:
            channel.allow_resuming(self.state_machine)
        self._acknowledge_role_findings(definition)

    def _acknowledge_role_findings(self, definition: sfn.IChainable) -> None:
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing and CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups, "
            "DescribeResourcePolicies, PutResourcePolicy) take no resource-level permission.",
        )
        for function in _token_receiving_functions(definition):
            arn = _arn_as_nag_names_it(function)
            if arn is not None:
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{arn}:*]",
                    f"Invoking the one function {function.node.id} that a pausable task hands its token to, any "
                    "version or alias of it (ARN:*), as the Lambda task grants it.",
                )


def _token_receiving_functions(definition: sfn.IChainable) -> list[lambda_.IFunction]:
    """The functions the PausableTasks reachable from the definition's start hand tokens to."""
    functions: dict[str, lambda_.IFunction] = {}
    for state in sfn.State.find_reachable_states(definition.start_state, include_error_handlers=True):
        task = state.node.scope
        if isinstance(task, PausableTask) and task.function is not None:
            functions[task.function.node.path] = task.function
    return list(functions.values())


def _arn_as_nag_names_it(function: lambda_.IFunction) -> str | None:
    """The function's ARN as cdk-nag writes it in a finding: <LogicalId.Arn> for a function of
    this app, the ARN itself for one imported by a literal ARN; None when it cannot be known here."""
    if isinstance(function, lambda_.Function):
        resource = cfn_resource(function)
        return f"<{Stack.of(resource).get_logical_id(resource)}.Arn>"
    if not Token.is_unresolved(function.function_arn):
        return function.function_arn
    return None

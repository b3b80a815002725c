"""Grants on a state machine to a role that may live in another stack."""

from aws_cdk import Arn, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


def grant_on_state_machine(
    owner: Construct,
    role: iam.IRole,
    state_machine: sfn.IStateMachine,
    statements: list[iam.PolicyStatement],
    *,
    own_policy: bool = False,
) -> iam.Policy | None:
    """Adds `statements` (about `state_machine`) to `role`, which `owner` made.

    In the owner's own stack this is the role's default policy. For a state machine of another
    stack, the grant is a policy of that stack, attached to the role: the state machine's stack
    depends on the owner's already (its definition names the owner's function or topic), so a
    grant written in the owner's stack, naming the state machine, would make the two stacks depend
    on each other, which CloudFormation cannot deploy. With `own_policy`, that separate policy is
    made in the same stack too: for a role whose function the state machine depends on, through
    its definition, while the function itself depends on its role's default policy.
    """
    if Stack.of(state_machine) is Stack.of(owner) and not own_policy:
        for statement in statements:
            role.add_to_principal_policy(statement)
        return None
    return iam.Policy(
        state_machine,
        # Stable and unique per owner: the owner's path, hashed, names the policy.
        f"ResumedBy{owner.node.id}{owner.node.addr[:8]}",
        statements=statements,
        roles=[role],
    )


def task_response(state_machine: sfn.IStateMachine, *actions: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(actions), resources=[state_machine.state_machine_arn])


def executions_of(state_machine: sfn.IStateMachine) -> str:
    """The ARN pattern of the state machine's executions: arn:...:execution:<state machine name>:*."""
    name = getattr(state_machine, "state_machine_name", None)
    if not isinstance(name, str):  # an imported state machine: its name is in its ARN
        name = Arn.split(state_machine.state_machine_arn, ArnFormat.COLON_RESOURCE_NAME).resource_name
    return Stack.of(state_machine).format_arn(
        service="states", resource="execution", resource_name=f"{name}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )

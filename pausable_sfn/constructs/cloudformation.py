"""What the constructs need to reach below the L2 layer: the CloudFormation resource behind a construct."""

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def cfn_resource(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource an L2 construct stands for (its default child).

    Raises TypeError for a construct that has none (an imported resource, a plain Construct):
    what the caller wants to change or name does not exist in this template.
    """
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource of its own")
    return child


def depend_on_role_policy_only(resource: IConstruct, role: iam.IRole) -> None:
    """CDK makes a resource depend on its role explicitly, though its Fn::GetAtt of the role already
    does (cfn-lint W3005): its DependsOn keeps only the role's policy, which the resource does need
    before it runs (a function or a state machine may start before the policy exists otherwise)."""
    policy = cfn_resource(role.node.find_child("DefaultPolicy"))
    cfn_resource(resource).add_override("DependsOn", [Stack.of(resource).get_logical_id(policy)])

"""Acknowledging a cdk-nag finding: on one construct, with the reason a reviewer can check."""

import json

import jsii
from aws_cdk import Acknowledgment, Aspects, IAspect, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """`finding` as cdk-nag names it, e.g. "AwsSolutions-IAM5[Resource::*]"."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason))


def as_nag_names_it(scope: IConstruct, value: str) -> str:
    """A resource ARN as cdk-nag writes it in a finding: references resolved to <LogicalId>,
    <LogicalId.Attribute> or <AWS::Pseudo>, other functions as their JSON."""
    resolved = Stack.of(scope).resolve(value)
    parts = resolved["Fn::Join"][1] if isinstance(resolved, dict) and "Fn::Join" in resolved else [resolved]
    return "".join(_nag_part(part) for part in parts)


def _nag_part(part: object) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and "Ref" in part:
        return f"<{part['Ref']}>"
    if isinstance(part, dict) and "Fn::GetAtt" in part:
        return f"<{'.'.join(part['Fn::GetAtt'])}>"
    return json.dumps(part, separators=(",", ":"))


# What tracing and log delivery need on Resource "*": they take no resource-level permission.
SERVICE_WILDCARD_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)


def acknowledge_service_wildcards(policy: IConstruct, reason: str) -> None:
    """Acknowledges the policy's `Resource::*` finding only if, once the app is complete, every
    statement on "*" is X-Ray or log delivery: a statement of the user's own on every resource
    (added to the same role later) must be reported, not hidden behind this acknowledgement."""
    Aspects.of(policy).add(_AcknowledgeServiceWildcards(policy, reason))


@jsii.implements(IAspect)
class _AcknowledgeServiceWildcards:
    # An aspect: it runs when the app is synthesized, after the user's code has added its statements.
    def __init__(self, policy: IConstruct, reason: str) -> None:
        self._policy = policy
        self._reason = reason

    def visit(self, node: IConstruct) -> None:
        # Aspects visit the policy and each of its children: the policy itself is the one to judge.
        if node.node.path != self._policy.node.path or not isinstance(self._policy, iam.Policy):
            return
        document = Stack.of(self._policy).resolve(self._policy.document.to_json()) or {}
        wildcard_actions: set[str] = set()
        for statement in document.get("Statement", []):
            resources = statement.get("Resource", [])
            if "*" in ([resources] if isinstance(resources, str) else resources):
                actions = statement.get("Action", [])
                wildcard_actions.update([actions] if isinstance(actions, str) else actions)
        if wildcard_actions <= SERVICE_WILDCARD_ACTIONS:
            acknowledge(self._policy, "AwsSolutions-IAM5[Resource::*]", self._reason)

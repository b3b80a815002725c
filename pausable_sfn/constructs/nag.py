"""Acknowledging a cdk-nag finding: on one construct, with the reason a reviewer can check."""

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """`finding` as cdk-nag names it, e.g. "AwsSolutions-IAM5[Resource::*]"."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason))

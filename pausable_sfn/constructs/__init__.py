"""Reusable CDK constructs for Step Functions workflows that pause for a task-token callback."""

"""Lambda handlers of the pausable workflow.

This folder is the Lambda asset: it holds handler code only (no CDK, no tests). On AWS the
handlers import Powertools (and pydantic) from the public Powertools layer.
"""

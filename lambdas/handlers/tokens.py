"""Task tokens are credentials: code outside Step Functions only ever shows a fingerprint."""

import hashlib

MAX_TASK_TOKEN_LENGTH = 2048  # the SendTask* APIs reject longer tokens


def fingerprint(task_token: str) -> str:
    """A short, stable name for a token, safe to log and to compare across log lines."""
    digest = hashlib.sha256(task_token.encode("utf-8")).hexdigest()
    return f"tok-{digest[:12]}"

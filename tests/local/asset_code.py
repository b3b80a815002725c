"""Code that the local tests write into their small Lambda assets (handlers run in processes of
their own, so they share code as text), and the functions made of such code through the Lambda API."""

import io
import json
import zipfile
from typing import Any

HOLD_UNTIL_RELEASED = """
def hold_until_released(folder, marker="held"):
    # Runs until the test releases it: an invocation that is surely under way meanwhile.
    (folder / marker).touch()
    deadline = time.monotonic() + 30
    while not (folder / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.01)
"""


def zipped(files: dict[str, str]) -> bytes:
    """A zip archive of `files` (name → source), as Lambda takes code."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


LAMBDA_TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


def python_function(aws: Any, name: str, source: str) -> str:
    """A function created through the Lambda API from `source` (its handler `handler.handle`),
    with a role Lambda can assume; its ARN."""
    role = aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    return str(
        aws.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role["Role"]["Arn"],
            Handler="handler.handle",
            Code={"ZipFile": zipped({"handler.py": source})},
        )["FunctionArn"]
    )

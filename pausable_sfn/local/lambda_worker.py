"""One Lambda execution environment: a process that imports a function's handler once and then
runs one invocation at a time, as Lambda's Python runtime does.

Started by runtime.py as `python -u -P lambda_worker.py [REASON]`, with the function's environment
only, in the function's asset folder. It imports nothing but the standard library before the
handler, so that a function sees only its own code and the libraries installed beside this
Python. With a REASON (the function's code is not Python's) it imports no handler at all and
answers each invocation with the error Runtime.Unsupported, saying REASON.

Protocol, one JSON document per line: the environment's standard input brings invocations
({"requestId", "event", "remainingMs", "invokedFunctionArn", "clockOffset"}) and its original standard output
takes the answers ({"ready"} once, then {"payload", "errorType"} per invocation). Everything the
handler writes to stdout or stderr goes to the file the parent gave as stderr: its log.
"""

import contextlib
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The `context` argument, with the fields of the Python runtime's own."""

    def __init__(self, request_id: str, invoked_function_arn: str, remaining_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_document(
    error_type: str, message: str, request_id: str | None, error: BaseException | None
) -> dict[str, Any]:
    document: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if request_id:
        document["requestId"] = request_id
    # The handler's frames only, not this worker's call into it (Lambda's runtime shows none of its own).
    frames = traceback.extract_tb(error.__traceback__)[1:] if error else []
    document["stackTrace"] = traceback.format_list([_as_on_lambda(frame) for frame in frames])
    return document


# Where Lambda puts a function's code, and so where its stack traces say the handler's files are.
LAMBDA_CODE_ROOT = "/var/task"


def _as_on_lambda(frame: traceback.FrameSummary) -> traceback.FrameSummary:
    """A frame of the function's own code named as on Lambda (/var/task/handler.py), not by the
    folder it was unpacked into here: a stack trace is part of what a caller (a Catch's Cause)
    sees."""
    root = os.environ.get("LAMBDA_TASK_ROOT", "")
    if not root or not frame.filename.startswith(root.rstrip(os.sep) + os.sep):
        return frame
    relative = frame.filename[len(root.rstrip(os.sep)) + 1 :]
    return traceback.FrameSummary(
        f"{LAMBDA_CODE_ROOT}/{relative}", frame.lineno, frame.name, line=frame.line, lookup_line=False
    )


def log_error(document: dict[str, Any]) -> None:
    # The runtime's own report of an unhandled error, as one entry: "[ERROR] Type: message" and the trace.
    trace = "".join(document.get("stackTrace", []))
    print(f"[ERROR] {document['errorType']}: {document['errorMessage']}\nTraceback (most recent call last):\n{trace}")


def load_handler(unsupported: str | None = None) -> tuple[Any, dict[str, Any] | None]:
    """The handler named by _HANDLER, or the init error every invocation will answer with."""
    if unsupported:
        return None, error_document("Runtime.Unsupported", unsupported, None, None)
    name = os.environ["_HANDLER"]
    if "." not in name:
        # As Lambda's Python runtime words it (it splits the name in two).
        message = f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)"
        return None, error_document("Runtime.MalformedHandlerName", message, None, None)
    module_name, _, attribute = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        message = f"Unable to import module '{module_name}': {error}"
        return None, error_document("Runtime.ImportModuleError", message, None, error)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        message = f"Handler '{attribute}' missing on module '{module_name}'"
        return None, error_document("Runtime.HandlerNotFound", message, None, None)
    return handler, None


def clock_of(offset: float) -> Any:
    """The embedded AWS's clock, for the handler: `offset` seconds ahead of the wall clock, ticking.
    time-machine moves time.time(), datetime.now() and their kin (not time.monotonic(), which the
    invocation's own timeout reads); it is imported only once the clock has been advanced, so that
    a handler otherwise runs with nothing but its own imports."""
    if not offset:
        return contextlib.nullcontext()
    import time_machine

    return time_machine.travel(time.time() + offset, tick=True)


def invoke(handler: Any, init_error: dict[str, Any] | None, request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["requestId"]
    if init_error is not None:
        document = {**init_error, "requestId": request_id}
        log_error(document)
        return {"payload": json.dumps(document), "errorType": document["errorType"]}
    context = LambdaContext(request_id, request["invokedFunctionArn"], request["remainingMs"])
    try:
        with clock_of(request.get("clockOffset") or 0):
            result = handler(json.loads(request["event"]), context)
    except Exception as error:
        document = error_document(type(error).__name__, str(error), request_id, error)
        log_error(document)
        return {"payload": json.dumps(document), "errorType": document["errorType"]}
    try:
        return {"payload": json.dumps(result), "errorType": None}
    except (TypeError, ValueError) as error:
        document = error_document("Runtime.MarshalError", f"Unable to marshal response: {error}", request_id, None)
        log_error(document)
        return {"payload": json.dumps(document), "errorType": document["errorType"]}


def main() -> None:
    # The protocol keeps the pipes the parent opened; the handler's stdout joins stderr, its log.
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])

    def answer(document: dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        answers.write(json.dumps(document) + "\n")
        answers.flush()

    handler, init_error = load_handler(sys.argv[1] if len(sys.argv) > 1 else None)
    answer({"ready": True})
    for line in requests:
        answer(invoke(handler, init_error, json.loads(line)))


if __name__ == "__main__":
    main()

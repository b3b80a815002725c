"""What the embedded AWS does to moto's Lambda. The numbers are those of the one list in ../gaps.py.

2. moto runs Lambda code only in Docker: `route_lambda_invocations` hands every invocation to
   the embedded Lambda runtime (runtime.py), after checking its payload is JSON as Lambda's API
   does (InvalidRequestContentException, 400), and returns the log tail when asked (Tail). A
   function's reserved concurrency (PutFunctionConcurrency), which moto only records, is handed
   to the runtime too, and an invocation it throttles is answered as Lambda answers it
   (TooManyRequestsException, 429, Reason ReservedFunctionConcurrentInvocationLimitExceeded).
7. A function whose layer moto does not hold (the public Powertools layer) is refused:
   `publish_stand_in_layer` publishes an empty stand-in; the handlers run with the Powertools
   installed beside the embedded AWS, at the version the layer would have (settings.py).
18. CreateFunctionUrlConfig answers with a URL that nothing serves
    (https://<32 hex digits>.lambda-url.<region>.on.aws, without the trailing slash AWS's has):
    `serve_function_urls` gives each function URL one on the embedded AWS's endpoint instead,
    http://127.0.0.1:<port>/lambda-url/<url-id>/ with a url-id of 32 lowercase letters and
    digits as AWS's, and `find_function_url` tells function_urls.py which function a url-id is
    of, its auth type, and whether the function's resource-based policy lets the public call it.
23. A function created through the Lambda API is kept as bytes for a Docker container that moto
    starts on each invocation (gap 2), and moto takes code Lambda refuses: bytes that are not a
    zip, an S3 object that does not exist (as empty code), a zip function without a handler.
    `run_functions_created_through_the_api` keeps the embedded runtime in step with the API:
    CreateFunction registers the function (its zip, given inline or from the embedded S3,
    extracted into the runtime's scratch folder), UpdateFunctionCode and
    UpdateFunctionConfiguration (handler, environment, timeout, memory, runtime) register it
    again (new execution environments from then on, as on Lambda), DeleteFunction unregisters
    it. Code Lambda refuses is refused as Lambda does (InvalidParameterValueException, 400, the
    function left as it was); a function whose runtime is not Python, or a container image,
    fails each invocation with Runtime.Unsupported instead of running.
"""

import base64
import copy
import dataclasses
import json
import zipfile
import zlib
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
from moto.awslambda.models import FunctionUrlConfig, LambdaBackend, LambdaFunction, lambda_backends

from ..function_urls import PATH_PREFIX as URL_PATH_PREFIX
from ..function_urls import FunctionUrlTarget, new_url_id
from ..runtime import FunctionConfig, ThrottledError, platform_lines

if TYPE_CHECKING:
    from pathlib import Path

    from ..events import AsyncInvoker
    from ..runtime import LambdaRuntime


def route_lambda_invocations(patches: ExitStack, runtime: "LambdaRuntime", async_invoker: "AsyncInvoker") -> None:
    """Gap 2, and gap 23, which hands the runtime the functions it is to run."""

    def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        try:
            event = json.loads(body) if body else {}
        except ValueError as error:  # as Lambda's API answers: 400, nothing invoked
            raise InvalidRequestContentError(f"Could not parse request body into json: {error}") from None
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "Event":
            async_invoker.submit(function.function_name, event)
            return b""
        if invocation_type == "DryRun":
            return b""
        try:
            invocation = runtime.invoke(function.function_name, event)
        except ThrottledError as error:
            raise TooManyRequestsError(error.reason) from None
        if invocation.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["x-amz-executed-version"] = "$LATEST"
        if _header(request_headers, "X-Amz-Log-Type") == "Tail":
            # The last 4 KB of the invocation's log, as `aws lambda invoke --log-type Tail` shows it.
            log = "\n".join(platform_lines(invocation, runtime.find(function.function_name))).encode()
            tail = log[-4096:].decode(errors="ignore").encode()  # whole characters only
            response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return invocation.payload

    original_put_concurrency = LambdaBackend.put_function_concurrency
    original_delete_concurrency = LambdaBackend.delete_function_concurrency

    def put_function_concurrency(backend: LambdaBackend, function_name: str, reserved_concurrency: str) -> Any:
        reserved = original_put_concurrency(backend, function_name, reserved_concurrency)
        _reserve(function_name, int(reserved))
        return reserved

    def delete_function_concurrency(backend: LambdaBackend, function_name: str) -> Any:
        original_delete_concurrency(backend, function_name)
        _reserve(function_name, None)

    def _reserve(function_name: str, reserved: int | None) -> None:
        runtime.find(function_name).reserved_concurrency = reserved

    patches.enter_context(mock.patch.object(LambdaFunction, "invoke", invoke))
    patches.enter_context(mock.patch.object(LambdaBackend, "put_function_concurrency", put_function_concurrency))
    patches.enter_context(mock.patch.object(LambdaBackend, "delete_function_concurrency", delete_function_concurrency))
    run_functions_created_through_the_api(patches, runtime)


# Lambda's words when it refuses code at CreateFunction or UpdateFunctionCode.
NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
NO_SUCH_KEY = (
    "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."
)
HANDLER_AND_RUNTIME_NEEDED = (
    "Runtime and Handler are mandatory parameters for functions created with deployment packages."
)
# What a zip that cannot be read raises while it is extracted (a truncated or corrupt archive, an
# unknown compression method).
UNREADABLE_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)  # the end-of-archive record alone: a zip of nothing


def run_functions_created_through_the_api(patches: ExitStack, runtime: "LambdaRuntime") -> None:
    """Gap 23. A deployed function is registered again by the deployer, with what its template
    adds (its asset folder, log group, asynchronous settings); the API's changes apply to it too."""
    original_set_code = LambdaFunction._set_function_code
    original_create = LambdaBackend.create_function
    original_update_code = LambdaBackend.update_function_code
    original_update_configuration = LambdaBackend.update_function_configuration
    original_delete = LambdaBackend.delete_function

    def set_function_code(function: LambdaFunction, spec: dict[str, Any]) -> None:
        """The code is checked, and extracted, where moto sets it (creation and update alike);
        refused, the function keeps the code it had."""
        kept = {key: copy.copy(value) for key, value in vars(function).items() if key.startswith("code")}
        try:
            original_set_code(function, spec)
        except ValueError as error:  # moto's way of raising some of Lambda's errors, which made them a 500
            if error.args[:1] != ("InvalidParameterValueException",):
                raise
            raise InvalidParameterValueException(str(error.args[1])) from None
        dry_run = spec is not function.code and spec.get("DryRun")
        if function.package_type != "Zip" or dry_run:
            return
        try:
            if not function.code_bytes and "S3Bucket" in spec:
                raise InvalidParameterValueException(NO_SUCH_KEY)  # moto took the missing object as empty code
            try:
                runtime.unpack(function.code_bytes)
            except UNREADABLE_ZIP:
                raise InvalidParameterValueException(NOT_A_ZIP) from None
        except InvalidParameterValueException:
            vars(function).update(kept)
            raise

    def create_function(backend: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        if spec.get("PackageType", "Zip") == "Zip" and not (spec.get("Runtime") and spec.get("Handler")):
            raise InvalidParameterValueException(HANDLER_AND_RUNTIME_NEEDED)
        created = original_create(backend, spec)
        runtime.register(_function_config(runtime, backend.get_function(created.function_name)))
        return created

    def update_function_code(
        backend: LambdaBackend, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        updated = original_update_code(backend, function_name, qualifier, body)
        if not body.get("DryRun"):
            function = backend.get_function(function_name, qualifier)
            _reregister(runtime, function, asset_dir=_task_root(runtime, function))
        return updated

    def update_function_configuration(
        backend: LambdaBackend, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        updated = original_update_configuration(backend, function_name, qualifier, body)
        function = backend.get_function(function_name, qualifier)
        fresh = _function_config(runtime, function)
        changed = ("handler", "environment", "timeout_seconds", "memory_mb", "unsupported")
        _reregister(runtime, function, **{field: getattr(fresh, field) for field in changed})
        return updated

    def delete_function(backend: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
        name = backend.get_function(function_name, qualifier).function_name
        original_delete(backend, function_name, qualifier)
        if all(function.function_name != name for function in backend.list_functions()):
            runtime.unregister(name)  # its $LATEST is gone, not only a version of it

    patches.enter_context(mock.patch.object(LambdaFunction, "_set_function_code", set_function_code))
    patches.enter_context(mock.patch.object(LambdaBackend, "create_function", create_function))
    patches.enter_context(mock.patch.object(LambdaBackend, "update_function_code", update_function_code))
    patches.enter_context(
        mock.patch.object(LambdaBackend, "update_function_configuration", update_function_configuration)
    )
    patches.enter_context(mock.patch.object(LambdaBackend, "delete_function", delete_function))


def _function_config(runtime: "LambdaRuntime", function: LambdaFunction) -> FunctionConfig:
    """Gap 23: the function as the API made it, in the runtime's terms; its log group is Lambda's default."""
    return FunctionConfig(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler or "",
        asset_dir=_task_root(runtime, function),
        environment={key: str(value) for key, value in function.environment_vars.items()},
        timeout_seconds=int(function.timeout),
        memory_mb=int(function.memory_size),
        log_group=f"/aws/lambda/{function.function_name}",
        reserved_concurrency=None if function.reserved_concurrency is None else int(function.reserved_concurrency),
        unsupported=_unsupported(function),
    )


def _task_root(runtime: "LambdaRuntime", function: LambdaFunction) -> "Path":
    """The function's code extracted (an image has none here: an empty folder)."""
    return runtime.unpack(function.code_bytes if function.package_type == "Zip" else EMPTY_ZIP)


def _unsupported(function: LambdaFunction) -> str | None:
    if function.package_type != "Zip":
        return "the embedded AWS runs functions from .zip file archives only, not from container images"
    if not str(function.run_time).startswith("python"):
        return f"the embedded AWS runs Python functions only, not {function.run_time}"
    return None


def _reregister(runtime: "LambdaRuntime", function: LambdaFunction, **changes: Any) -> None:
    """Gap 23: the registered function with these changes (what else the deployer gave it stays)."""
    current = runtime.functions.get(function.function_name)
    if current is None:  # a function moto held before the embedded AWS took it over
        runtime.register(_function_config(runtime, function))
    else:
        runtime.register(dataclasses.replace(current, **changes))


class InvalidRequestContentError(LambdaClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestContentException", message)


class TooManyRequestsError(LambdaClientError):
    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        # Lambda's error body: its type, its reason, and who caused it (the caller: "User").
        self.description = json.dumps(
            {"__type": self.error_type, "message": self.message, "Reason": reason, "Type": "User"}
        )


def _header(headers: Any, name: str) -> str | None:
    """A request header, whatever the case of its name (mock mode and server mode spell them differently)."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def serve_function_urls(patches: ExitStack, endpoint_url: str) -> None:
    """Gap 18: the URL is made when the configuration is, so that CreateFunctionUrlConfig,
    GetFunctionUrlConfig and a template's Fn::GetAtt FunctionUrl all give the one that works."""
    original_init = FunctionUrlConfig.__init__

    def init(url_config: FunctionUrlConfig, function: LambdaFunction, config: dict[str, Any]) -> None:
        original_init(url_config, function=function, config=config)
        url_config.url = f"{endpoint_url}{URL_PATH_PREFIX}{new_url_id()}/"

    patches.enter_context(mock.patch.object(FunctionUrlConfig, "__init__", init))


def find_function_url(url_id: str) -> FunctionUrlTarget | None:
    """Gap 18: the function URL with this url-id, as moto holds it now (a deleted one is gone)."""
    path = f"{URL_PATH_PREFIX}{url_id}/"
    for account_id, regions in list(lambda_backends.items()):
        for backend in list(regions.values()):
            for function in backend._lambdas.latest():
                config = function.url_config
                if url_id and config is not None and config.url.endswith(path):
                    auth_type = str(config.config.get("AuthType", "NONE"))
                    return FunctionUrlTarget(
                        url_id=url_id,
                        function=function.function_name,
                        auth_type=auth_type,
                        public=_invokable_by_anyone(function.policy.statements, auth_type),
                        account_id=account_id,
                    )
    return None


def _invokable_by_anyone(statements: list[dict[str, Any]], auth_type: str) -> bool:
    """Whether the policy grants "*" both lambda:InvokeFunctionUrl (for this auth type) and
    lambda:InvokeFunction (through a function URL, or at all), as function URLs made since
    October 2025 need. moto keeps AddPermission's FunctionUrlAuthType and InvokedViaFunctionUrl
    as it was given them, beside the conditions it knows."""

    def allows(statement: dict[str, Any], action: str) -> bool:
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        principal = statement.get("Principal")
        return (
            statement.get("Effect", "Allow") == "Allow"
            and principal in ("*", {"AWS": "*"})
            and any(name in (action, "lambda:*") for name in actions)
        )

    def condition(statement: dict[str, Any], key: str) -> Any:
        return statement.get("Condition", {}).get("StringEquals", {}).get(key)

    url_granted = any(
        allows(statement, "lambda:InvokeFunctionUrl")
        and auth_type in (statement.get("FunctionUrlAuthType"), condition(statement, "lambda:FunctionUrlAuthType"))
        for statement in statements
    )
    invoke_granted = any(
        allows(statement, "lambda:InvokeFunction") and statement.get("InvokedViaFunctionUrl") in (True, "true", None)
        for statement in statements
    )
    return url_granted and invoke_granted


def publish_stand_in_layer(lambda_client: Any, parameter_name: str) -> str:
    """Gap 7: an empty layer in the local account stands in for the layer the public parameter names."""
    name = parameter_name.strip("/").replace("/", "-").replace(".", "_")[:140]
    layer = lambda_client.publish_layer_version(
        LayerName=name,
        Description=f"embedded stand-in for the layer named by {parameter_name}",
        Content={"ZipFile": _empty_zip()},
    )
    return str(layer["LayerVersionArn"])


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/.embedded-stand-in", "")
    return buffer.getvalue()

"""The embedded Lambda runtime: handlers run from their asset in execution environments of their
own, concurrently, each with only its function's variables, ended at their timeout, as on Lambda."""

import json
import os
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pausable_sfn.local.runtime import (
    FunctionConfig,
    FunctionNotFoundError,
    Invocation,
    LambdaRuntime,
    ThrottledError,
)
from pausable_sfn.testing.waiting import wait_until

from .asset_code import HOLD_UNTIL_RELEASED

HANDLER = (
    """
import logging, os, sys, time
from pathlib import Path

# Like Powertools' Logger: a handler on stdout, made when the module is imported.
log = logging.getLogger("asset-under-test")
log.addHandler(logging.StreamHandler(sys.stdout))
log.setLevel(logging.INFO)
log.propagate = False
print("init of", os.environ["AWS_LAMBDA_FUNCTION_NAME"])
served = 0

def handler(event, context):
    global served
    served += 1
    if event.get("fail"):
        raise ValueError("told to fail")
    if event.get("exit"):
        os._exit(3)
    if event.get("hang"):
        if event.get("mark"):
            Path(event["mark"]).touch()
        time.sleep(3600)
    if event.get("hold"):
        hold_until_released(Path(event["hold"]))
    if event.get("unserializable"):
        return {"when": object()}
    if event.get("meet"):
        # Waits until `count` invocations have arrived: only invocations that run at the same time can meet.
        folder = Path(event["meet"])
        (folder / context.aws_request_id).touch()
        deadline = time.monotonic() + 20
        while len(list(folder.iterdir())) < event["count"]:
            if time.monotonic() > deadline:
                raise TimeoutError("the other invocations never came")
            time.sleep(0.01)
    log.info("hello from the handler")
    print("printed by the handler")
    print("written to stderr", file=sys.stderr)
    return {
        "file": __file__,
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "log_stream": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "setting": os.environ.get("SETTING"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "function_env": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "leaked": os.environ.get("ONLY_IN_THE_PARENT"),
        "served": served,
        "pid": os.getpid(),
    }
"""
    + HOLD_UNTIL_RELEASED
)


@pytest.fixture
def asset(tmp_path: Path) -> Path:
    package = tmp_path / "asset" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(textwrap.dedent(HANDLER))
    return tmp_path / "asset"


def function(
    asset: Path,
    name: str,
    *,
    setting: str = "on",
    timeout: int = 2,
    handler: str = "app.main.handler",
    reserved_concurrency: int | None = None,
):
    return FunctionConfig(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler=handler,
        asset_dir=asset,
        environment={"SETTING": setting},
        timeout_seconds=timeout,
        memory_mb=256,
        log_group=f"/aws/lambda/{name}",
        reserved_concurrency=reserved_concurrency,
    )


@pytest.fixture
def runtime(asset: Path) -> Iterator[LambdaRuntime]:
    written: list[tuple[str, str, list[str]]] = []
    runtime = LambdaRuntime(
        region="us-east-1",
        aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        log_sink=lambda config, stream, lines: written.append((config.name, stream, lines)),
    )
    runtime.written = written  # type: ignore[attr-defined]
    runtime.register(function(asset, "fn"))
    yield runtime
    runtime.stop()


def together(runtime: LambdaRuntime, calls: list[tuple[str, dict]]) -> list[Invocation]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: runtime.invoke(*call), calls))


def test_the_handler_runs_from_the_asset_with_the_function_environment_and_context(runtime, asset):
    invocation = runtime.invoke("fn", {})

    result = invocation.result()
    assert Path(result["file"]).parent.parent == asset
    assert (result["name"], result["request_id"]) == ("fn", invocation.request_id)
    assert result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert 0 < result["remaining_ms"] <= 2000
    assert (result["setting"], result["endpoint"], result["function_env"]) == ("on", "http://127.0.0.1:1", "fn")
    assert result["pid"] != os.getpid()


def test_the_asset_stays_as_it_was_deployed_no_bytecode_is_written_into_it(runtime, asset):
    before = sorted(path.relative_to(asset) for path in asset.rglob("*"))

    runtime.invoke("fn", {}).result()

    assert sorted(path.relative_to(asset) for path in asset.rglob("*")) == before


def test_a_function_sees_only_its_own_variables_never_this_process_s(runtime, asset, monkeypatch):
    monkeypatch.setenv("ONLY_IN_THE_PARENT", "secret")
    runtime.register(function(asset, "other", setting="off"))

    results = [i.result() for i in together(runtime, [("fn", {}), ("other", {}), ("fn", {}), ("other", {})])]

    assert [(r["function_env"], r["setting"]) for r in results] == [("fn", "on"), ("other", "off")] * 2
    assert {r["leaked"] for r in results} == {None}
    assert "SETTING" not in os.environ


def test_invocations_of_one_function_run_at_the_same_time(runtime, asset, tmp_path):
    runtime.register(function(asset, "patient", timeout=60))
    meeting = tmp_path / "meeting"
    meeting.mkdir()

    invocations = together(runtime, [("patient", {"meet": str(meeting), "count": 3})] * 3)

    assert [i.error_type for i in invocations] == [None] * 3
    assert len({i.result()["pid"] for i in invocations}) == 3
    assert runtime.environments("patient") == 3


def test_a_warm_environment_is_reused_with_what_its_init_left(runtime):
    first, second = runtime.invoke("fn", {}), runtime.invoke("fn", {})

    assert (first.cold_start, second.cold_start) == (True, False)
    assert first.result()["pid"] == second.result()["pid"]
    assert second.result()["served"] == 2
    assert first.log_stream == second.log_stream  # one log stream per environment, as on Lambda


def test_a_function_is_found_by_name_or_arn_with_or_without_qualifier(runtime):
    for name in (
        "fn",
        "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST",
    ):
        assert runtime.find(name).name == "fn"
    with pytest.raises(FunctionNotFoundError, match="Function not found: other"):
        runtime.find("other")


def test_an_exception_becomes_lambdas_error_payload_and_its_log_entry(runtime):
    invocation = runtime.invoke("fn", {"fail": True})

    assert invocation.failed
    assert invocation.error_type == "ValueError"
    payload = json.loads(invocation.payload)
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "told to fail")
    assert payload["requestId"] == invocation.request_id
    [frame] = payload["stackTrace"]
    assert frame.startswith('  File "/var/task/')  # where Lambda keeps the code, not the folder it is unpacked into
    assert "[ERROR] ValueError: told to fail" in invocation.log_lines


def test_a_result_that_is_not_json_is_a_marshal_error(runtime):
    invocation = runtime.invoke("fn", {"unserializable": True})

    assert invocation.error_type == "Runtime.MarshalError"
    assert "Unable to marshal response" in invocation.result()["errorMessage"]


def test_a_handler_that_runs_past_its_timeout_is_stopped_there(runtime):
    invocation = runtime.invoke("fn", {"hang": True})

    assert invocation.error_type == "Sandbox.Timedout"
    assert invocation.result()["errorMessage"] == f"{invocation.request_id} Task timed out after 2.00 seconds"
    assert invocation.duration_ms < 60_000  # it returned: the hung code was stopped, not waited for
    assert runtime.environments("fn") == 0  # the timed-out environment is gone
    after = runtime.invoke("fn", {})
    assert (after.error_type, after.cold_start) == (None, True)


def test_a_hung_invocation_holds_up_no_other(runtime, asset, tmp_path):
    runtime.register(function(asset, "patient", timeout=600))
    mark = tmp_path / "hanging"
    hung = threading.Thread(target=runtime.invoke, args=("patient", {"hang": True, "mark": str(mark)}))
    hung.start()
    wait_until(mark.exists, what="the invocation to hang")

    others = [runtime.invoke("patient", {}) for _ in range(3)]
    still_hung = hung.is_alive()
    runtime.stop()  # ends the hung environment
    hung.join(timeout=30)

    assert [i.error_type for i in others] == [None] * 3
    assert still_hung, "the other invocations ran while the hung one still ran"
    assert not hung.is_alive()


def test_an_environment_that_exits_fails_its_invocation_and_the_next_one_starts_afresh(runtime):
    crashed = runtime.invoke("fn", {"exit": True})
    after = runtime.invoke("fn", {})

    assert crashed.error_type == "Runtime.ExitError"
    assert (after.error_type, after.cold_start) == (None, True)


def test_a_handler_that_cannot_be_imported_fails_each_invocation_as_lambda_says(runtime, asset):
    runtime.register(function(asset, "broken", handler="app.missing.handler"))

    invocation = runtime.invoke("broken", {})

    assert invocation.error_type == "Runtime.ImportModuleError"
    assert "Unable to import module 'app.missing'" in invocation.result()["errorMessage"]


def test_stdout_stderr_and_logging_reach_the_log_with_lambdas_platform_lines(runtime):
    invocation = runtime.invoke("fn", {})

    [(function_name, stream, lines)] = runtime.written
    assert function_name == "fn"
    assert stream == invocation.result()["log_stream"] == invocation.log_stream
    assert lines[0] == f"START RequestId: {invocation.request_id} Version: $LATEST"
    assert {"init of fn", "hello from the handler", "printed by the handler", "written to stderr"} <= set(lines)
    assert lines[-2] == f"END RequestId: {invocation.request_id}"
    assert lines[-1].startswith(f"REPORT RequestId: {invocation.request_id}\tDuration: ")
    assert "Billed Duration" in lines[-1]


def test_each_invocation_logs_only_its_own_lines(runtime):
    runtime.invoke("fn", {})
    runtime.invoke("fn", {"fail": True})

    [(_, _, first), (_, _, second)] = runtime.written
    assert "printed by the handler" in first
    assert "printed by the handler" not in second
    assert "init of fn" not in second


def test_with_one_environment_allowed_invocations_wait_for_it(asset):
    runtime = LambdaRuntime(region="us-east-1", aws_environment={}, max_environments=1)
    runtime.register(function(asset, "fn"))
    try:
        invocations = together(runtime, [("fn", {})] * 3)
    finally:
        runtime.stop()

    assert [i.error_type for i in invocations] == [None] * 3
    assert len({i.result()["pid"] for i in invocations}) == 1


def test_beyond_its_reserved_concurrency_a_function_is_throttled_rather_than_kept_waiting(runtime, asset, tmp_path):
    runtime.register(function(asset, "reserved", timeout=60, reserved_concurrency=1))
    held = threading.Thread(target=runtime.invoke, args=("reserved", {"hold": str(tmp_path)}))
    held.start()
    wait_until((tmp_path / "held").exists, what="the first invocation to run")

    with pytest.raises(ThrottledError, match="reserved concurrency of 1") as throttled:
        runtime.invoke("reserved", {})
    others = [i.error_type for i in together(runtime, [("fn", {})] * 2)]  # another function is not held back
    (tmp_path / "release").touch()
    held.join(timeout=30)
    after = runtime.invoke("reserved", {})

    assert throttled.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert others == [None, None]
    assert after.error_type is None


def test_a_reserved_concurrency_of_zero_throttles_every_invocation(runtime, asset):
    runtime.register(function(asset, "switched-off", reserved_concurrency=0))

    with pytest.raises(ThrottledError):
        runtime.invoke("switched-off", {})
    assert runtime.invocations == []


def test_stopping_ends_every_environment_and_removes_its_files(runtime):
    pid = runtime.invoke("fn", {}).result()["pid"]

    runtime.stop()

    assert runtime.scratch is not None
    assert not runtime.scratch.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_billed_time_adds_up_the_invocations(runtime):
    runtime.invoke("fn", {})
    runtime.invoke("fn", {})

    assert runtime.billed_ms("fn") == pytest.approx(sum(i.duration_ms for i in runtime.invocations))
    assert len(runtime.invocations) == 2


def test_a_long_session_keeps_only_its_newest_invocations_but_bills_them_all(runtime):
    runtime.kept_invocations = 10
    first = [runtime.invoke("fn", {"n": n}) for n in range(12)]
    billed_while_all_kept = runtime.billed_ms("fn")

    later = [runtime.invoke("fn", {"n": n}) for n in range(12, 30)]

    assert 10 <= len(runtime.invocations) <= 11
    assert runtime.invocations == later[-len(runtime.invocations) :]
    assert billed_while_all_kept == pytest.approx(sum(i.duration_ms for i in first))
    assert runtime.billed_ms("fn") == pytest.approx(sum(i.duration_ms for i in first + later))

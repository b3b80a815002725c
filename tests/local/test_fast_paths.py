"""What the interpreter keeps between executions (a parsed definition, a compiled JSONPath) never
changes what an execution does: executions running at once each write into their own data, and
a state machine updated runs its new definition from its next execution."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

ROLE = "arn:aws:iam::123456789012:role/fast-paths"


@pytest.fixture(scope="module")
def aws():
    with EmbeddedAws() as aws:
        yield aws


def machine(aws: EmbeddedAws, name: str, definition: dict[str, Any]) -> str:
    return aws.client("stepfunctions").create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def run(aws: EmbeddedAws, arn: str, given: Any) -> Any:
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(given))["executionArn"]
    ended = wait_until(
        lambda: (described := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and described,
        what=f"{execution} ends",
    )
    assert ended["status"] == "SUCCEEDED", ended
    return json.loads(ended["output"])


def pass_with(result_path: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}
    if result_path != "default":
        state["ResultPath"] = result_path
    return {"StartAt": "Double", "States": {"Double": state}}


@pytest.mark.parametrize(
    ("result_path", "expected"),
    [
        ("default", lambda n: {"doubled": 2 * n}),
        ("$", lambda n: {"doubled": 2 * n}),
        ("$.result", lambda n: {"n": n, "result": {"doubled": 2 * n}}),
        ("$.deep.er", lambda n: {"n": n, "deep": {"er": {"doubled": 2 * n}}}),
        (None, lambda n: {"n": n}),
    ],
    ids=["no ResultPath", "$", "a field", "a nested field", "null"],
)
def test_executions_running_at_once_each_place_their_result_in_their_own_input(aws, result_path, expected):
    named = {"default": "none", "$": "root", "$.result": "field", "$.deep.er": "nested", None: "null"}
    arn = machine(aws, f"result-path-{named[result_path]}", pass_with(result_path))

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda n: run(aws, arn, {"n": n}), range(12)))

    assert outputs == [expected(n) for n in range(12)]


def test_state_machines_that_differ_in_their_result_path_only_keep_their_own(aws):
    into_a = machine(aws, "into-a", pass_with("$.a"))
    into_b = machine(aws, "into-b", pass_with("$.b"))

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda n: run(aws, into_a if n % 2 else into_b, {"n": n}), range(8)))

    assert outputs == [{"n": n, ("a" if n % 2 else "b"): {"doubled": 2 * n}} for n in range(8)]


def test_an_updated_state_machine_runs_its_new_definition_from_its_next_execution(aws):
    def answering(answer: str) -> dict[str, Any]:
        return {"StartAt": "Answer", "States": {"Answer": {"Type": "Pass", "Result": answer, "End": True}}}

    arn = machine(aws, "updated", answering("before"))
    before = run(aws, arn, {})
    aws.client("stepfunctions").update_state_machine(stateMachineArn=arn, definition=json.dumps(answering("after")))
    after = run(aws, arn, {})
    aws.client("stepfunctions").update_state_machine(stateMachineArn=arn, definition=json.dumps(answering("before")))
    back = run(aws, arn, {})

    assert (before, after, back) == ("before", "after", "before")


def test_jsonata_and_jsonpath_state_machines_run_side_by_side(aws):
    jsonata = machine(
        aws,
        "fast-jsonata",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Double",
            "States": {
                "Double": {"Type": "Pass", "Assign": {"twice": "{% $states.input.n * 2 %}"}, "Next": "Answer"},
                "Answer": {"Type": "Pass", "Output": {"doubled": "{% $twice %}"}, "End": True},
            },
        },
    )
    jsonpath = machine(aws, "fast-jsonpath", pass_with("$.result"))

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda n: run(aws, jsonata if n % 2 else jsonpath, {"n": n}), range(8)))

    assert outputs == [{"doubled": 2 * n} if n % 2 else {"n": n, "result": {"doubled": 2 * n}} for n in range(8)]


def test_an_action_the_emulator_lacks_is_still_refused_and_the_ones_it_has_still_answer():
    with EmbeddedAws(in_process=False) as aws:
        sfn = aws.client("stepfunctions")

        with pytest.raises(ClientError) as refused:
            sfn.redrive_execution(executionArn="arn:aws:states:us-east-1:123456789012:execution:absent:absent")
        listed = sfn.list_activities()

    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert listed["activities"] == []


def test_a_failed_execution_keeps_its_error_and_cause_and_a_stopped_one_ends_aborted(aws):
    sfn = aws.client("stepfunctions")
    failing = machine(
        aws,
        "fast-failing",
        {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}},
    )
    waiting = machine(
        aws, "fast-waiting", {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )

    failed = sfn.start_execution(stateMachineArn=failing)["executionArn"]
    stopped = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    wait_until(
        lambda: any(
            event["type"] == "WaitStateEntered" for event in sfn.get_execution_history(executionArn=stopped)["events"]
        ),
        what="the wait starts",
    )
    sfn.stop_execution(executionArn=stopped)

    def ended(arn: str) -> dict[str, Any]:
        return wait_until(
            lambda: (described := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and described,
            what=f"{arn} ends",
        )

    assert {key: ended(failed).get(key) for key in ("status", "error", "cause")} == {
        "status": "FAILED",
        "error": "Broken",
        "cause": "on purpose",
    }
    assert ended(stopped)["status"] == "ABORTED"


def test_an_execution_past_its_timeout_seconds_times_out_and_map_and_parallel_still_give_every_result(aws):
    sfn = aws.client("stepfunctions")
    slow = machine(
        aws,
        "fast-timeout",
        {"TimeoutSeconds": 60, "StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    )
    fanned = machine(
        aws,
        "fast-fan-out",
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}},
                        {
                            "StartAt": "Each",
                            "States": {
                                "Each": {
                                    "Type": "Map",
                                    "ItemsPath": "$.items",
                                    "ItemProcessor": {
                                        "StartAt": "Item",
                                        "States": {
                                            "Item": {"Type": "Pass", "Parameters": {"seen.$": "$"}, "End": True}
                                        },
                                    },
                                    "End": True,
                                }
                            },
                        },
                    ],
                }
            },
        },
    )

    timing_out = sfn.start_execution(stateMachineArn=slow)["executionArn"]
    wait_until(
        lambda: sfn.describe_execution(executionArn=timing_out)["status"] != "RUNNING",
        what="the timeout",
        clock=aws.clock,
    )
    fanned_out = run(aws, fanned, {"items": [1, 2, 3]})

    assert sfn.describe_execution(executionArn=timing_out)["status"] == "TIMED_OUT"
    assert fanned_out == [{"items": [1, 2, 3]}, [{"seen": 1}, {"seen": 2}, {"seen": 3}]]


def test_a_long_session_keeps_no_thread_of_an_ended_execution():
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.backend import execution_worker

    with EmbeddedAws() as aws:
        sfn = aws.client("stepfunctions")
        # With a TimeoutSeconds, moto runs each execution's program in a thread of its own.
        definition = {"TimeoutSeconds": 60, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        machine = sfn.create_state_machine(name="many", definition=json.dumps(definition), roleArn=ROLE)
        arns = [sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"] for _ in range(300)]
        statuses = lambda: {sfn.describe_execution(executionArn=arn)["status"] for arn in arns}  # noqa: E731
        wait_until(lambda: "RUNNING" not in statuses(), timeout=120)
        ended = statuses()
        kept = {len(program.TMP_THREADS), len(execution_worker.TMP_THREADS)}
        shared = program.TMP_THREADS is execution_worker.TMP_THREADS

    assert ended == {"SUCCEEDED"}
    assert shared
    assert max(kept) < 600  # moto kept all: two threads per execution

"""The benchmark's own pieces (no timing is asserted here: timings belong to `make bench`)."""

import io
from collections import Counter

from bench.__main__ import table
from bench.callbacks_by_key import UNATTRIBUTED, Cost, api_call, calls_per_unit
from bench.figures import Figure, asset_size
from bench.measure import Sample, repeat


def test_a_sample_reports_median_and_range():
    sample = Sample.of([3.0, 1.0, 2.0, 10.0])

    assert (sample.median, sample.low, sample.high, sample.runs) == (2.5, 1.0, 10.0, 4)


def test_repeat_leaves_the_warm_up_out():
    values = iter([100.0, 1.0, 2.0, 3.0])

    assert repeat(lambda: next(values), runs=3, warmup=1) == Sample(2.0, 1.0, 3.0, 3)


def test_the_table_shows_ratios_targets_and_misses():
    rows = [
        Figure("synth", "s", Sample.of([2.0, 2.2]), "empty app", Sample.of([1.6]), "≤ 1.6×", True),
        Figure("billed", "ms", Sample.of([5.0]), "sleep", Sample.of([10000.0]), "≤ 300 ms", True),
        Figure("imports", "s", Sample.of([0.3]), "boto3", Sample.of([0.2]), "≤ 1.3×", False),
    ]

    lines = table(rows).splitlines()

    assert lines[2] == "| synth | 2.1 s (2–2.2, 2 runs) | empty app: 1.6 s | 1.31× | ≤ 1.6× | yes |"
    assert "| 1/2000 |" in lines[3]
    assert lines[4].endswith("| 1.50× | ≤ 1.3× | **no** |")


def test_the_lambda_asset_is_small_and_shared(synthesized):
    figures = asset_size(synthesized.assembly_dir)

    assert len(figures) == 7
    assert len({figure.ours.median for figure in figures}) == 1
    assert figures[0].met is True  # ≤ 48 KB: handler code only


def test_a_reference_of_nothing_has_no_ratio():
    row = Figure("calls per registration", "calls", Sample.of([4.0]), "no key", Sample.of([0.0]), "report")

    assert row.ratio is None
    assert table([row]).splitlines()[2] == "| calls per registration | 4 calls | no key: 0 calls |  | report |  |"


def _request(headers: dict[str, str], body: bytes = b"") -> dict:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": io.BytesIO(body)}
    environ.update({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()})
    if "Content-Type" in headers:
        environ["CONTENT_TYPE"] = headers["Content-Type"]
    return environ


SIGNED = "AWS4-HMAC-SHA256 Credential=embedded/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"


def test_an_api_call_is_told_by_the_app_id_of_its_user_agent_and_its_operation():
    agent = "Boto3/1.40 md/Botocore#1.43 os/linux exec-env/AWS_Lambda_python3.11 app/fn2 cfg/retry-mode#standard"
    json_call = _request(
        {"User-Agent": agent, "Authorization": SIGNED.format("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    )
    form = b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Message=%7B%7D&Version=2010-03-31"
    query_call = _request(
        {"Authorization": SIGNED.format("sns"), "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        form,
    )

    assert api_call(json_call) == ("fn2", "DynamoDB PutItem")
    assert api_call(query_call) == (UNATTRIBUTED, "SNS Publish")
    assert query_call["wsgi.input"].read() == form  # put back for moto to read


def test_calls_per_unit_are_averaged_by_function_and_operation():
    costs = [
        Cost(Counter({("fn0", "KMS Decrypt"): 1, ("fn1", "DynamoDB Query"): 1})),
        Cost(Counter({("fn0", "KMS Decrypt"): 1, ("fn1", "DynamoDB Query"): 1, ("fn1", "DynamoDB DeleteItem"): 1})),
    ]

    summary = calls_per_unit(costs, {"fn0": "ResumeStepFunction", "fn1": "CorrelationJanitor"})

    assert summary == "CorrelationJanitor: DynamoDB DeleteItem 0.5, DynamoDB Query 1; ResumeStepFunction: KMS Decrypt 1"
    assert calls_per_unit([Cost()], {}) == "no call"
    assert [cost.call_count for cost in costs] == [2, 3]

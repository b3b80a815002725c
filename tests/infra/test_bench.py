"""The benchmark's own pieces (no timing is asserted here: timings belong to `make bench`)."""

from bench.__main__ import table
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

    assert len(figures) == 5
    assert len({figure.ours.median for figure in figures}) == 1
    assert figures[0].met is True  # ≤ 32 KB: handler code only

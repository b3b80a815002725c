"""`make bench`: measures, then writes bench/results.json and the table of docs/benchmarks.md."""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.cdk_app import synthesize

from . import callbacks_by_key, emulators, figures
from .figures import Figure

TABLE_MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    node = subprocess.run([str(figures.BIN / "node"), "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{memory_kb / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "node": node,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def _number(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def table(rows: list[Figure]) -> str:
    lines = [
        "| figure | ours: median (min–max) | reference: median | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours = f"{_number(row.ours.median)} {row.unit}"
        if row.ours.runs > 1:
            ours += f" ({_number(row.ours.low)}–{_number(row.ours.high)}, {row.ours.runs} runs)"
        reference = f"{row.reference_name}: {_number(row.reference.median)} {row.unit}" if row.reference else ""
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}×" if row.ratio >= 0.1 else f"1/{1 / row.ratio:.0f}"
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        note = f" ({row.note})" if row.note else ""
        lines.append(f"| {row.name}{note} | {ours} | {reference} | {ratio} | {row.target} | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--runs", type=int, default=5, help="runs of each quick measurement (default 5)")
    parser.add_argument("--suite-runs", type=int, default=2, help="runs of the test suite (default 2)")
    parser.add_argument("--executions", type=int, default=200, help="executions for the latency figures")
    parser.add_argument(
        "--bulk",
        type=int,
        default=1000,
        help="paused executions for the bulk resume and the console's list (default 1000)",
    )
    parser.add_argument("--by-key", type=int, default=50, help="executions per kind for callbacks by key (50)")
    parser.add_argument("--latency", type=float, default=30, help="ms of network latency for the bulk resume (30)")
    parser.add_argument("--only", help="comma-separated steps to run and print; only a full run writes the files")
    args = parser.parse_args()
    began = time.perf_counter()
    assembly = synthesize(tempfile.mkdtemp(prefix="pausable-sfn-bench-"))
    steps: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("cdk synth", lambda: figures.synth(args.runs)),
        ("cold imports", lambda: figures.cold_imports(args.runs * 2)),
        ("asset size", lambda: figures.asset_size(assembly)),
        ("emulators", lambda: emulators.figures(assembly, runs=args.runs, executions=args.executions)),
        ("memory", lambda: emulators.memory(assembly, paused=args.bulk)),
        ("embedded flows", lambda: figures.embedded_flows(assembly, args.executions)),
        ("callbacks by key", lambda: callbacks_by_key.callbacks_by_key(args.by_key)),
        ("lambda runtime", lambda: figures.lambda_runtime(assembly, args.runs)),
        ("virtual time", lambda: figures.virtual_time(assembly, args.runs)),
        ("user session", lambda: figures.user_session(args.runs)),
        ("bulk resume", lambda: figures.bulk_resume(assembly, args.bulk)),
        ("bulk resume with latency", lambda: figures.bulk_resume(assembly, args.bulk, latency_ms=args.latency)),
        ("console list", lambda: figures.console_list(assembly, args.bulk, args.runs)),
        ("test suite", lambda: figures.test_suite(args.suite_runs)),
    ]
    if args.only:
        steps = [(title, step) for title, step in steps if title in args.only.split(",")]
    rows: list[Figure] = []
    for title, step in steps:
        print(f"measuring: {title}", flush=True)
        rows += step()
    about = machine()
    markdown = table(rows)
    if args.only:  # a partial table would replace the whole one: it is printed, not written
        print(markdown)
        return 0 if all(row.met is not False for row in rows) else 1
    header = (
        f"Measured by `make bench` on {about['date']}: {about['cpu']}, {about['cores']} cores, "
        f"{about['memory']}, Python {about['python']}, Node.js {about['node']}; "
        f"{time.perf_counter() - began:.0f} s in all."
    )
    results = {"machine": about, "figures": [
        {"name": r.name, "unit": r.unit, "ours": r.ours.as_dict(), "reference_name": r.reference_name,
         "reference": r.reference.as_dict() if r.reference else None, "ratio": r.ratio, "target": r.target,
         "met": r.met, "note": r.note, **r.extra} for r in rows]}  # fmt: skip
    (PROJECT_ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    page = PROJECT_ROOT / "docs" / "benchmarks.md"
    start, end = TABLE_MARKERS
    text = page.read_text()
    text = re.sub(f"{re.escape(start)}.*?{re.escape(end)}", f"{start}\n{header}\n\n{markdown}\n{end}", text, flags=re.S)
    page.write_text(text)
    print(markdown)
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

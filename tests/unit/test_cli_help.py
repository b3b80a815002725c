"""The CLI's parser: help that reads well, its version, the durations it takes, its one date format."""

import argparse
import re
import shlex
from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import version

import pytest

from pausable_sfn.cli import main
from pausable_sfn.cli import parser as cli_parser
from pausable_sfn.ops.cli import HELP


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every subcommand of the parser, nested ones too, as the words that name it."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                found += [(*path, name), *subcommands(subparser, (*path, name))]
    return found


def help_of(capsys, *words: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_the_walk_finds_every_command_including_the_tools():
    assert set(subcommands(cli_parser())) >= {
        ("start",),
        ("paused",),
        ("resume",),
        ("fail",),
        ("heartbeat",),
        ("history",),
        ("demo",),
        ("local",),
        ("local", "serve"),
        ("local", "advance"),
        ("local", "clock"),
    }


@pytest.mark.parametrize("words", subcommands(cli_parser()), ids=" ".join)
def test_every_command_has_a_one_line_description_and_examples(capsys, words):
    text = help_of(capsys, *words)

    usage, description, *_ = text.split("\n\n")
    assert usage.startswith(f"usage: pausable-sfn {' '.join(words)}")
    assert "\n" not in description.strip()
    assert description[0].isupper()
    examples = re.search(r"^examples:\n((?:  .+\n)+)", text, re.M)
    assert examples is not None, text
    assert all(line.startswith(f"  pausable-sfn {' '.join(words)}") for line in examples.group(1).splitlines())


def examples_of(words: tuple[str, ...]) -> list[str]:
    """The examples a command's help shows (its parser's epilog)."""
    subparser = cli_parser()
    for word in words:
        [choices] = [a.choices for a in subparser._actions if isinstance(a, argparse._SubParsersAction)]
        subparser = choices[word]
    return [line.strip() for line in (subparser.epilog or "").splitlines()[1:]]


# The operator commands' (a `local serve` example names an assembly that must exist to be parsed).
@pytest.mark.parametrize("command", list(HELP))
def test_every_example_of_an_operator_command_s_help_parses(command):
    examples = examples_of((command,))
    assert examples
    for example in examples:
        # GIVEN an example as a person would paste it into a shell
        args = shlex.split(example)[1:]

        # THEN the parser takes it (argparse exits on a usage error)
        cli_parser().parse_args(args)


def test_version_names_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"pausable-sfn {version('pausable-sfn')}\n"


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("10", 10), ("900", 900), ("2.5", 2.5), ("0.25", 0.25), ("899.9", 899.9)]
)
def test_a_job_duration_is_any_number_of_seconds_from_0_to_900(text, seconds):
    duration = cli_parser().parse_args(["start", "--job-duration", text]).job_duration

    assert duration == seconds
    assert type(duration) is type(seconds)  # "10" goes into the execution input as 10, not 10.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("900.5", "a job takes 0 to 900 seconds, not 900.5"),
        ("-1", "a job takes 0 to 900 seconds, not -1"),
        ("nan", "a job takes 0 to 900 seconds, not nan"),
        ("inf", "a job takes 0 to 900 seconds, not inf"),
        ("ten", "not a number of seconds: 'ten'"),
    ],
)
def test_a_job_duration_out_of_range_or_not_a_number_is_a_usage_error(capsys, text, message):
    with pytest.raises(SystemExit) as exit_:
        cli_parser().parse_args(["start", "--job-duration", text])

    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_timestamp_is_iso_8601_in_utc_with_its_zone_and_microseconds():
    from pausable_sfn.ops.cli import timestamp

    tokyo = timezone(timedelta(hours=9))

    assert timestamp(datetime(2026, 11, 26, 11, 18, 55, 123000, tzinfo=tokyo)) == "2026-11-26T02:18:55.123000+00:00"
    assert timestamp(datetime(2026, 11, 26, 2, 18, 55, tzinfo=UTC)) == "2026-11-26T02:18:55.000000+00:00"

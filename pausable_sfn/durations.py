"""Durations as people write them to pausable-sfn: a whole number and a unit, `90s`, `15m`, `2h`,
`3d`, or a bare number of seconds (`90`).

One grammar for every duration the tools take (how long an approval link lasts, how far the
embedded AWS's clock moves), on the command line, in the console and over the clock's HTTP route.
Standard library only: the operator commands, the console and the embedded AWS all import it.
"""

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXAMPLES = "90s, 30m, 2h or 3d"


class DurationError(ValueError):
    """The text is not a duration; the message says what one looks like."""


def parse_duration(text: str) -> int:
    """The duration `text` in whole seconds; DurationError if it is not one (a negative one
    included: no duration is negative)."""
    match = re.fullmatch(r"([0-9]+)([smhd]?)", text.strip())
    if match is None:
        raise DurationError(f"not a duration like {EXAMPLES}: {text!r}")
    return int(match.group(1)) * UNITS[match.group(2) or "s"]


def spoken(seconds: float) -> str:
    """A duration in words, rounded to the second, in its largest unit and the next one:
    '7 days', '1 day 2 hours', '3 hours 20 minutes', '45 seconds' ('33 days' for 33 days 50 s)."""
    left, counts = round(seconds), []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        counts.append((count, unit))
    first = next((index for index, (count, _) in enumerate(counts) if count), len(counts) - 1)
    words = [f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in counts[first : first + 2] if count]
    return " ".join(words) or "0 seconds"

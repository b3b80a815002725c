"""The JSONata functions Step Functions adds to JSONata's own: $partition, $range, $hash, $random
(with an optional seed), $uuid and $parse ("JSONata functions provided by Step Functions", in
"Transforming data with JSONata in Step Functions", the Step Functions developer guide); and
JSONata's $now and $millis, on the embedded AWS's clock (clock.py) rather than the wall clock.

Each is a Python function registered on a compiled expression; an argument it cannot take raises
`FunctionArgumentError`, which the evaluator reports as the expression's error.
"""

import hashlib
import json
import random as _random
import threading
import uuid as _uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import jsonatapy

from ..clock import current_time

# What $hash takes, as States.Hash does, and the hashlib name of each.
HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
# States.ArrayRange's limit, which $range shares.
MAX_RANGE_ITEMS = 1000


class FunctionArgumentError(ValueError):
    """An argument a Step Functions function cannot take."""


def _whole_number(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise FunctionArgumentError(f"The {name} argument of the function must be an integer, got {json.dumps(value)}")
    return int(value)


def partition(array: Any, chunk_size: Any) -> list[Any]:
    """$partition([1,2,3,4], 3) → [[1,2,3],[4]]: chunks of chunk_size, the last one shorter."""
    if not isinstance(array, list):
        array = [array]  # JSONata passes a single value where a sequence of one was meant
    size = _whole_number("chunk size", chunk_size)
    if size <= 0:
        raise FunctionArgumentError(f"The chunk size argument of the function must be positive, got {size}")
    return [array[start : start + size] for start in range(0, len(array), size)]


def range_(first: Any, last: Any, step: Any) -> Any:
    """$range(0, 10, 2) → [0,2,4,6,8,10]: from first to last inclusive. A range of one item is
    that item, as a JSONata sequence of one is (recorded on AWS: $range(1, 9, 9) gives 1)."""
    start, end, increment = (
        _whole_number(name, value) for name, value in (("start", first), ("end", last), ("step", step))
    )
    if increment == 0:
        raise FunctionArgumentError("The step argument of the function must not be 0")
    numbers = range(start, end + (1 if increment > 0 else -1), increment)
    if len(numbers) > MAX_RANGE_ITEMS:  # counted before any is made: $range(0, 1e10, 1) must not fill memory
        raise FunctionArgumentError(f"The function cannot create more than {MAX_RANGE_ITEMS} items")
    return numbers[0] if len(numbers) == 1 else list(numbers)


def hash_(value: Any, algorithm: Any) -> str:
    """$hash('input', 'SHA-256'): the hexadecimal digest of a string."""
    if not isinstance(value, str):
        raise FunctionArgumentError(f"The value argument of the function must be a string, got {json.dumps(value)}")
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        raise FunctionArgumentError(
            f"The hash algorithm {json.dumps(algorithm)} is not supported; use one of {', '.join(HASH_ALGORITHMS)}"
        )
    return hashlib.new(HASH_ALGORITHMS[algorithm], value.encode()).hexdigest()


def random(seed: Any = None) -> float:
    """$random() or $random(seed): a number from 0 to 1 (1 excluded); the same seed gives the same number."""
    if seed is None:
        return _random.random()
    return _random.Random(_whole_number("seed", seed)).random()


def uuid() -> str:
    """$uuid(): a version 4 UUID."""
    return str(_uuid.uuid4())


def parse(text: Any) -> Any:
    """$parse('{"a": 1}'): the JSON value a string holds (Step Functions offers it instead of $eval)."""
    if not isinstance(text, str):
        raise FunctionArgumentError(f"The argument of the function must be a string, got {json.dumps(text)}")
    try:
        return json.loads(text)
    except ValueError as error:
        raise FunctionArgumentError(f"The argument of the function is not valid JSON: {error}") from None


_evaluation = threading.local()


@contextmanager
def one_instant() -> Iterator[None]:
    """The block is one evaluation: every $now() and $millis() in it reads the same instant, as
    JSONata's own do."""
    _evaluation.instant = current_time()
    try:
        yield
    finally:
        _evaluation.instant = None


def millis() -> int:
    """$millis(): milliseconds since the epoch, on the clock (the evaluation's instant)."""
    instant = getattr(_evaluation, "instant", None)
    return int((current_time() if instant is None else instant) * 1000)


def now(picture: Any = None, timezone: Any = None) -> Any:
    """$now(), $now(picture) and $now(picture, timezone): the clock's time as JSONata writes it
    (ISO 8601 in UTC with milliseconds), or as $fromMillis formats it with those arguments."""
    moment = millis()
    if picture is None and timezone is None:
        return datetime.fromtimestamp(moment / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment % 1000:03d}Z"
    arguments = {"m": moment, "p": picture, "t": timezone}
    source = "$fromMillis($m, $p)" if timezone is None else "$fromMillis($m, $p, $t)"
    try:
        text = jsonatapy.compile(source).evaluate_json_or_none(None, arguments)
    except ValueError as error:
        raise FunctionArgumentError(str(error)) from None
    return None if text is None else json.loads(text)


# Names JSONata does not have, registered; names it has (random), overridden.
ADDED: dict[str, Callable[..., Any]] = {
    "partition": partition,
    "range": range_,
    "hash": hash_,
    "uuid": uuid,
    "parse": parse,
}
OVERRIDDEN: dict[str, Callable[..., Any]] = {"random": random, "now": now, "millis": millis}

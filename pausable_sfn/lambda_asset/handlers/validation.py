"""Turns pydantic validation errors into one readable sentence per problem.

The messages never echo the offending value: an event may carry a task token, and pydantic's
default message would print (part of) it.
"""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class InvalidEventError(ValueError):
    """The event does not have the shape the handler documents; nothing was done with it."""


def describe(error: ValidationError) -> str:
    problems = []
    for detail in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in detail["loc"]) or "event"
        problems.append(f"{where}: {detail['msg']}")
    return "; ".join(problems)


def parse(model: type[ModelT], data: Any, *, what: str) -> ModelT:
    """Validates `data` as `model`, or raises InvalidEventError naming `what` was wrong."""
    if not isinstance(data, dict):
        raise InvalidEventError(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidEventError(f"invalid {what}: {describe(error)}") from None

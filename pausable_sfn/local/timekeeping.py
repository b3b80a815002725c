"""Puts moto on the embedded AWS's clock (clock.py): what reads the time reads it, what waits
waits on it.

- The Step Functions interpreter (moto.stepfunctions.parser, LocalStack's, ported): every
  threading.Event, Condition and Thread in its modules is the clock's, so Wait states, task and
  heartbeat timeouts, an execution's TimeoutSeconds and the map/parallel workers are timers and
  threads the clock knows; its time.time/time.sleep (Wait's own accounting, Retry intervals) and
  datetime.now (history timestamps, start and stop dates, EnteredTime) read the clock. The one
  exception is the poll of `.sync` integrations: a real pause, not a timer (it repeats every half
  second for as long as the job runs, and an advance of a week would fire it a million times).
- Every other service reads moto.core.utils' utcnow (CloudWatch Logs, SNS, DynamoDB, ...), and
  so do SQS's delays, visibility timeouts and retention (through unix_time).

moto's modules are patched by attribute (`module.threading`, `module.Event`, ...), found by what
they hold rather than listed by name, so that a module moto adds or moves is covered too.
"""

import datetime
import importlib
import pkgutil
import sys
import threading
import time
import types
from contextlib import ExitStack
from typing import Any
from unittest import mock

from . import clock as clocks
from .clock import Clock, ClockCondition, ClockEvent, ClockThread, current_time

INTERPRETER_PACKAGE = "moto.stepfunctions.parser"
# The one module whose time.sleep is a polling loop's pause, not a timer (see above).
_SYNC_POLLING_MODULE = f"{INTERPRETER_PACKAGE}.asl.component.state.exec.state_task.service.state_task_service_callback"


class _DatetimeMeta(type):
    # isinstance(x, datetime.datetime) in a patched module must hold for every datetime.
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, datetime.datetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, datetime.datetime)


class ClockDatetime(datetime.datetime, metaclass=_DatetimeMeta):
    """datetime.datetime, whose now() and utcnow() read the clock (and give plain datetimes)."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
        return datetime.datetime.fromtimestamp(current_time(), tz)

    @classmethod
    def utcnow(cls) -> datetime.datetime:  # type: ignore[override]
        return utcnow()


class ModuleProxy(types.ModuleType):
    """A stand-in for a module: the given attributes, and the real module's for the rest."""

    def __init__(self, real: types.ModuleType, **overrides: Any) -> None:
        super().__init__(real.__name__)
        self._real = real
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def utcnow() -> datetime.datetime:
    """moto's utcnow (a naive UTC datetime) on the clock. A module moto imports while the
    embedded AWS runs keeps this function after it stops: without a clock it is the wall clock's."""
    return datetime.datetime.fromtimestamp(current_time(), datetime.UTC).replace(tzinfo=None)


THREADING = ModuleProxy(threading, Event=ClockEvent, Condition=ClockCondition, Thread=ClockThread)
TIME = ModuleProxy(time, time=current_time, sleep=clocks.sleep)
TIME_POLLING = ModuleProxy(time, time=current_time, sleep=clocks.idle_sleep)
DATETIME = ModuleProxy(datetime, datetime=ClockDatetime)

_REPLACEMENTS: dict[int, Any] = {
    id(threading.Event): ClockEvent,
    id(threading.Condition): ClockCondition,
    id(threading.Thread): ClockThread,
    id(threading): THREADING,
    id(datetime): DATETIME,
    id(datetime.datetime): ClockDatetime,
}


def interpreter_modules() -> list[types.ModuleType]:
    """Every module of moto's Step Functions interpreter, imported (a few need LocalStack, which
    moto does not ship: they are never used and are left out)."""
    package = importlib.import_module(INTERPRETER_PACKAGE)
    modules = [package]
    for info in pkgutil.walk_packages(package.__path__, f"{INTERPRETER_PACKAGE}."):
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:
            continue
    return modules


def put_the_interpreter_on_the_clock(patches: ExitStack) -> None:
    for module in interpreter_modules():
        for name, value in list(vars(module).items()):
            replacement = _REPLACEMENTS.get(id(value))
            if value is time:
                replacement = TIME_POLLING if module.__name__ == _SYNC_POLLING_MODULE else TIME
            if replacement is not None:
                patches.enter_context(mock.patch.object(module, name, replacement))


# The services whose models read the time (moto imports a service's models on first use).
CLOCKED_SERVICES = ("awslambda", "dynamodb", "events", "iam", "kms", "logs", "s3", "sns", "sqs", "stepfunctions")


def put_moto_on_the_clock(patches: ExitStack) -> None:
    """Every service's timestamps and SQS's timers: moto reads the time through
    moto.core.utils.utcnow (unix_time and the ISO 8601 helpers call it), which some modules import
    by name."""
    import moto.core.utils

    for service in CLOCKED_SERVICES:
        importlib.import_module(f"moto.{service}.models")
    wall_utcnow = moto.core.utils.utcnow
    for module in [m for name, m in list(sys.modules.items()) if name.startswith("moto.") and m is not None]:
        for name, value in list(vars(module).items()):
            if value is wall_utcnow:
                patches.enter_context(mock.patch.object(module, name, utcnow))


def apply(patches: ExitStack, clock: Clock) -> None:
    """Makes `clock` the active one, and moto its reader, until `patches` closes."""
    clocks.push(clock)
    patches.callback(clocks.pop, clock)
    put_the_interpreter_on_the_clock(patches)
    put_moto_on_the_clock(patches)

"""Work the Step Functions interpreter repeats for every execution, done once instead (issue 22).
Performance only: each patch here returns what moto's own code returns, and gap 13
(`gaps.reuse_parsed_definitions`) is the first of them.

- `compile_result_paths_once`: every state's ResultPath, `$` by default, so every Pass, Task,
  Map..., compiles its JSONPath with jsonpath_ng's parser, which builds its lexer and its LALR
  tables from scratch at each call (about 1.2 ms of CPU, holding the GIL): of a 10-Pass chain's
  execution, the larger part. Gap 13 caches the interpreter's other JSONPaths (those of
  `json_path.extract_json`, compiled by jsonpath_ng.ext), not this one, which result_path.py
  imports from jsonpath_ng itself. Safe to share: a compiled expression is set up in its
  `__init__` and never changed after (jsonpath_ng 1.16: `update_or_create` writes into the data
  it is given, never into `self`), so executions running at once may use one. Measured: the
  server's CPU for 200 executions of a 10-Pass chain started over HTTP, 2.96 s -> 2.45 s.
- `find_actions_without_listing_them`: every API call (Step Functions' and every other
  service's) asks whether its action is a method of the service's response class, and moto
  answers by listing every member of the class (`inspect.getmembers`: a few hundred getattr
  calls, sorted), some 7% of the server's CPU for those 200 executions. The one caller,
  BaseResponse.call_action, only asks `action in names`: that is answered by looking the one
  name up, with getmembers' own test (`inspect.isfunction` of what `getattr` finds), so a method
  patched in or out later is seen as before; anything that iterates the names gets moto's list.
- `copy_running_states_cheaply`: every state of every execution asks twice for the program's
  state, which moto deep-copies (copy.deepcopy's generic walk, ~6 us). A running, ended or
  timed-out program's state holds nothing but strings and None, so a new object with the same
  attributes is the deep copy; an error's or a stop's details (dicts) are still deep-copied.
  Measured with the one before it, 3 alternating pairs of 3 runs: the server's CPU for the 200
  executions 1.45 s -> 1.25 s (medians), their time 1.81 s -> 1.58 s.
- `run_programs_without_a_timeout_in_their_thread`: a program (an execution's, a Map
  iteration's, a Parallel branch's) runs in a thread of its own that the thread which started it
  joins, with the program's TimeoutSeconds as the join's timeout. Without TimeoutSeconds the
  join waits for the end whatever it takes, so the starting thread, which does nothing
  meanwhile, runs the program itself: one thread fewer per execution (its start, its join, the
  clock's count of it). What would end that thread (an exception escaping the program's own
  handling) goes to threading.excepthook as it did, and the starting thread goes on as it did.
  Measured, 3 alternating pairs of 3 runs: the server's CPU for the 200 executions 1.07 s ->
  1.02 s (medians; their time, 1.75 s either way, was the busy machine's).
- `forget_ended_threads`: moto appends every thread its interpreter starts (a program's, a Map
  iteration's, a Parallel branch's, a callback wait's) to a module-level list that nothing reads,
  so a long session holds one Thread object per thread ever started. The list keeps the threads
  still alive: memory bounded by what runs, not by what ran.
"""

import copy
import functools
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.core import responses
from moto.stepfunctions.parser import utils
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramRunning, ProgramTimedOut

# Far more than the distinct ResultPaths of the state machines a session deploys.
_PATHS_KEPT = 1024


def compile_result_paths_once(patches: ExitStack) -> None:
    compile_path = vars(result_path)["parse"]  # the module's own name, which the patch replaces
    patches.enter_context(
        mock.patch.object(result_path, "parse", functools.lru_cache(maxsize=_PATHS_KEPT)(compile_path))
    )


class _MethodNames:
    """The names of a class's functions, as moto's method_names_from_class lists them, asked one
    at a time."""

    def __init__(self, clazz: type, listed: Callable[[type], list[str]]) -> None:
        self._clazz = clazz
        self._listed = listed

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._clazz, name, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self._listed(self._clazz))


def find_actions_without_listing_them(patches: ExitStack) -> None:
    listed = vars(responses)["method_names_from_class"]
    patches.enter_context(
        mock.patch.object(responses, "method_names_from_class", lambda clazz: _MethodNames(clazz, listed))
    )


# Program states whose attributes are strings or None (moto 5.2.5's program_state.py).
_FLAT_STATES = (ProgramRunning, ProgramEnded, ProgramTimedOut)


def copy_running_states_cheaply(patches: ExitStack) -> None:
    def program_state(env: Environment) -> Any:
        state = env._program_state
        if type(state) not in _FLAT_STATES:
            return copy.deepcopy(state)
        copied = object.__new__(type(state))
        copied.__dict__.update(vars(state))
        return copied

    patches.enter_context(mock.patch.object(Environment, "program_state", program_state))


def run_programs_without_a_timeout_in_their_thread(patches: ExitStack) -> None:
    original = Program.eval

    def evaluate(program: Program, env: Environment) -> None:
        if program.timeout_seconds:
            original(program, env)
            return
        env.next_state_name = program.start_at.start_at_name
        try:
            EvalComponent.eval(program, env)  # what Program.eval's thread runs
        except Exception:
            kind, error, trace = sys.exc_info()
            threading.excepthook(threading.ExceptHookArgs((kind, error, trace, threading.current_thread())))

    patches.enter_context(mock.patch.object(Program, "eval", evaluate))


_PRUNE_BEYOND = 256


class _LiveThreads(list[threading.Thread]):
    def append(self, thread: threading.Thread) -> None:
        if len(self) >= _PRUNE_BEYOND:
            self[:] = [kept for kept in self if kept.is_alive()]
        super().append(thread)


def forget_ended_threads(patches: ExitStack) -> None:
    # Each module that appends to the list holds it by name (`from ... import TMP_THREADS`): every
    # module of moto's interpreter holding that very list gets the pruned one instead.
    original = utils.TMP_THREADS
    live = _LiveThreads()
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("moto.") and vars(module).get("TMP_THREADS") is original:
            patches.enter_context(mock.patch.object(module, "TMP_THREADS", live))


def apply(patches: ExitStack) -> None:
    for fast_path in (
        forget_ended_threads,
        compile_result_paths_once,
        find_actions_without_listing_them,
        copy_running_states_cheaply,
        run_programs_without_a_timeout_in_their_thread,
    ):
        fast_path(patches)

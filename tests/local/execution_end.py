"""What DescribeExecution answers at each step of the write of an execution's end (gap 42)."""

import datetime
import types
from typing import Any

from moto.stepfunctions.parser.api import ExecutionStatus, StateMachineType
from moto.stepfunctions.parser.asl.eval.program_state import ProgramState
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

SHOWN = ("status", "stopDate", "output", "error", "cause")
OUTPUT = {"done": True}


class _WatchedExecution:
    """A running execution that describes itself after each field moto writes of its end."""

    def __init__(self, program_state: ProgramState) -> None:
        running = {
            "exec_arn": "arn:aws:states:us-east-1:123456789012:execution:sm:e",
            "state_machine": types.SimpleNamespace(arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm"),
            "name": "e",
            "sm_type": StateMachineType.EXPRESS,  # sends no status change to EventBridge (gap 40)
            "exec_status": ExecutionStatus.RUNNING,
            "start_date": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
            "stop_date": None,
            "input_data": {},
            "input_details": None,
            "trace_header": None,
            "output": None,
            "output_details": None,
            "error": None,
            "cause": None,
            "exec_worker": types.SimpleNamespace(
                env=types.SimpleNamespace(
                    program_state=lambda: program_state, states=types.SimpleNamespace(get_input=lambda: OUTPUT)
                )
            ),
            "described": [],
        }
        for name, value in running.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self.described.append(describe(self))


def describe(execution: Any) -> dict[str, Any]:
    answer = Execution.to_describe_output(execution)
    return {key: str(getattr(answer[key], "value", answer[key])) for key in SHOWN if answer.get(key) is not None}


def described_while_ending(program_state: ProgramState) -> list[dict[str, Any]]:
    """Each DescribeExecution answer that could be seen while the execution's end is written."""
    execution = _WatchedExecution(program_state)
    BaseExecutionWorkerCommunication(execution).terminated()  # type: ignore[arg-type]
    return [describe(execution), *execution.described]

"""Gap 40: Step Functions' execution status changes, sent to EventBridge as Step Functions sends them.

A Standard execution sends "Step Functions Execution Status Change" events (source aws.states) to
the account's default event bus when it starts (RUNNING) and when it ends (SUCCEEDED, FAILED,
TIMED_OUT, ABORTED), "the detail section ... the same information as the DescribeExecution API",
its dates in epoch milliseconds ("EventBridge (CloudWatch Events) for Step Functions execution
status changes", Step Functions developer guide); Express workflows send none. moto sends none.
"""

import datetime
import json
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.events.models import events_backends
from moto.stepfunctions.parser.api import StateMachineType
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution, SyncExecution

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"


def emit_execution_status_changes(patches: ExitStack) -> None:
    """Gap 40."""
    original_start = Execution.start
    original_reflect: Any = BaseExecutionWorkerCommunication._reflect_execution_status

    def start(execution: Execution) -> None:
        # Sent before the worker starts: a quick execution's end must not come before its start.
        _send(execution, {"status": "RUNNING", "stopDate": None, "output": None, "outputDetails": None})
        original_start(execution)

    def reflect(communication: BaseExecutionWorkerCommunication) -> None:
        original_reflect(communication)
        _send(communication.execution, {})

    patches.enter_context(mock.patch.object(Execution, "start", start))
    patches.enter_context(mock.patch.object(BaseExecutionWorkerCommunication, "_reflect_execution_status", reflect))


def _send(execution: Execution, overrides: dict[str, Any]) -> None:
    if isinstance(execution, SyncExecution) or execution.sm_type == StateMachineType.EXPRESS:
        return
    described: dict[str, Any] = dict(execution.to_describe_output()) if execution.exec_status else {}
    if not described:  # not started yet: what DescribeExecution will say once it has
        described = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "startDate": execution.start_date,
            "input": json.dumps(execution.input_data, separators=(",", ":")),
            "inputDetails": execution.input_details,
        }
    described.pop("traceHeader", None)
    detail = {"stopDate": None, "output": None, "outputDetails": None, **described, **overrides}
    detail = {key: _epoch_ms(value) if isinstance(value, datetime.datetime) else value for key, value in detail.items()}
    moment = detail["stopDate"] or detail["startDate"]
    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "Resources": [execution.exec_arn],
        "Time": datetime.datetime.fromtimestamp(moment / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    events_backends[execution.account_id][execution.region_name].put_events([entry])


def _epoch_ms(moment: datetime.datetime) -> int:
    """Milliseconds, cut as the API cuts a date (no float rounding up to the next one)."""
    return int(moment.replace(microsecond=0).timestamp()) * 1000 + moment.microsecond // 1000

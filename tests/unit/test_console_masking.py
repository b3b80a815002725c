"""What the console shows of a history's task tokens: a fingerprint where a path leads to the token,
and no parameters at all where none does."""

import json
from datetime import UTC, datetime

from pausable_sfn.console.masking import HIDDEN, masked_history
from pausable_sfn.contracts import fingerprint

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd" + "q" * 100
WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
T0 = datetime(2026, 11, 26, tzinfo=UTC)


def definition(**states: dict) -> str:
    return json.dumps({"StartAt": next(iter(states)), "States": states})


def entered(number: int, name: str) -> dict:
    return {"id": number, "type": "TaskStateEntered", "timestamp": T0, "stateEnteredEventDetails": {"name": name}}


def scheduled(number: int, parameters: dict) -> dict:
    details = {"resource": "sendMessage.waitForTaskToken", "resourceType": "sqs", "parameters": json.dumps(parameters)}
    return {"id": number, "type": "TaskScheduled", "timestamp": T0, "taskScheduledEventDetails": details}


def shown_text(events: list[dict]) -> str:
    return json.dumps(events, default=str)


def test_a_token_at_the_path_its_state_gives_is_replaced_by_its_fingerprint():
    ask = {
        "Type": "Task",
        "Resource": WAIT,
        "Parameters": {"MessageBody": {"taskToken.$": "$$.Task.Token"}},
        "End": True,
    }
    events = [entered(1, "Ask"), scheduled(2, {"MessageBody": {"taskToken": TOKEN}})]

    tokens, shown = masked_history(definition(Ask=ask), events)

    assert tokens == [(TOKEN, f"{fingerprint(TOKEN)} (task token, masked)")]
    assert shown == events  # masked where the page renders them, by `tokens`


def test_a_token_built_into_a_string_has_no_path_so_the_parameters_are_not_shown():
    ask = {
        "Type": "Task",
        "Resource": WAIT,
        "Parameters": {"MessageBody.$": "States.Format('resume with {}', $$.Task.Token)"},
        "End": True,
    }
    events = [entered(1, "Ask"), scheduled(2, {"MessageBody": f"resume with {TOKEN}"})]

    tokens, shown = masked_history(definition(Ask=ask), events)

    assert tokens == []
    assert TOKEN not in shown_text(shown)
    assert shown[1]["taskScheduledEventDetails"]["parameters"] == HIDDEN
    assert shown[1]["taskScheduledEventDetails"]["resourceType"] == "sqs"


def test_a_task_scheduled_after_another_branch_entered_a_state_is_still_masked():
    parallel = {
        "Type": "Parallel",
        "End": True,
        "Branches": [
            {
                "StartAt": "Ask",
                "States": {
                    "Ask": {
                        "Type": "Task",
                        "Resource": WAIT,
                        "End": True,
                        "Parameters": {"MessageBody": {"t.$": "$$.Task.Token"}},
                    }
                },
            },
            {"StartAt": "Other", "States": {"Other": {"Type": "Pass", "End": True}}},
        ],
    }
    events = [entered(1, "Ask"), entered(2, "Other"), scheduled(3, {"MessageBody": {"t": TOKEN}})]

    tokens, _ = masked_history(definition(Both=parallel), events)

    assert [token for token, _ in tokens] == [TOKEN]

"""Task tokens are credentials: after the flows, no log line, output or error cause holds one."""

from pausable_sfn.app.names import STACK_NAME

from .conftest import Stack


def every_log_message(stack: Stack) -> list[str]:
    logs = stack.aws.client("logs")
    messages = []
    # The stacks' own groups only (both stacks' names start so), never the rest of an account.
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=STACK_NAME):
        for group in page["logGroups"]:
            for events in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
                messages += [event["message"] for event in events["events"]]
    return messages


def every_execution_result(stack: Stack) -> list[str]:
    sfn = stack.sfn
    results = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.output("StateMachineArn")):
        for execution in page["executions"]:
            description = sfn.describe_execution(executionArn=execution["executionArn"])
            results += [description.get(key) or "" for key in ("output", "error", "cause")]
    return results


def test_no_log_line_output_or_cause_carries_a_task_token(app, timeouts):
    tokens = []
    automatic = app.start({"JobDurationSeconds": 1})
    tokens.append(app.wait_paused(automatic).task_token)
    for callback in ({}, {"status": "FAILED", "error": "Rejected", "cause": "no"}):
        arn = app.start({"IsManualCallback": "True"})
        token = app.wait_paused(arn).task_token
        tokens.append(token)
        app.resume({"taskToken": token, **callback})
        app.resume({"taskToken": token})  # a second, late resume is logged too
        app.wait_end(arn)
    timed_out = timeouts.start({"IsManualCallback": "True"})
    tokens.append(timeouts.wait_paused(timed_out).task_token)
    app.wait_end(automatic)
    timeouts.wait_end(timed_out)
    app.settle()

    messages = every_log_message(app)
    # On the embedded AWS the timeouts are the app's own; on AWS, a copy's.
    stacks = {app.name: app, timeouts.name: timeouts}.values()
    results = [result for stack in stacks for result in every_execution_result(stack)]

    assert len(messages) > 20  # the handlers did log
    assert any("tok-" in message for message in messages)  # by fingerprint
    leaks = [text for text in messages + results for token in tokens if token in text]
    assert leaks == []

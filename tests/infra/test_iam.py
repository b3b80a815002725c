"""Least privilege: each role may do only what its code does, on the resources it names."""

# X-Ray, and the CloudWatch Logs delivery that state machine logging uses, accept no
# resource-level permissions: "*" is the only resource these actions take.
UNSCOPABLE = {
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}
WRITE_OWN_LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def own_logs(synthesized, function: str) -> tuple[list[str], dict]:
    return WRITE_OWN_LOGS, {"Fn::GetAtt": [synthesized.logical_id("AWS::Logs::LogGroup", f"{function}Logs"), "Arn"]}


def statements_of(synthesized, role_prefix: str) -> list[dict]:
    policies = [
        policy["Properties"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if any(role["Ref"].startswith(role_prefix) for role in policy["Properties"]["Roles"])
    ]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def scoped(statements: list[dict]) -> list[tuple[list[str], object]]:
    """(actions, resource) of each statement, leaving out the unscopable X-Ray one."""
    result = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if set(actions) <= UNSCOPABLE:
            continue
        assert statement["Effect"] == "Allow"
        result.append((sorted(actions), statement["Resource"]))
    return result


def arn_of(synthesized, resource_type: str, prefix: str) -> dict:
    return {"Fn::GetAtt": [synthesized.logical_id(resource_type, prefix), "Arn"]}


def test_resume_function_may_only_send_task_results_to_this_state_machine(synthesized):
    machine = synthesized.logical_id("AWS::StepFunctions::StateMachine", "WorkflowPausableStepFunction")
    dead_letters = arn_of(synthesized, "AWS::SQS::Queue", "CallbackDeadLetterQueue")
    window_queue = arn_of(synthesized, "AWS::SQS::Queue", "CorrelationEarlyCallbackWindowQueue")

    assert scoped(statements_of(synthesized, "ResumeStepFunctionLambda")) == [
        own_logs(synthesized, "ResumeStepFunctionLambda"),
        # Lambda itself sends the events that failed after the retries to the on-failure destination;
        # a callback by key that came early schedules the end of its window.
        (["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], [dead_letters, window_queue]),
        # A task it closed by key had others in line for the key: the registrar moves the line on.
        (["lambda:InvokeFunction"], arn_of(synthesized, "AWS::Lambda::Function", "RegisterCorrelationKeyLambda")),
        # By key: finds the waiting task, holds early callbacks, closes and releases entries.
        (
            ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"],
            arn_of(synthesized, "AWS::DynamoDB::Table", "CorrelationRegistry"),
        ),
        (["kms:Decrypt"], arn_of(synthesized, "AWS::KMS::Key", "CorrelationTokenKey")),
        (["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"], {"Ref": machine}),
    ]


def test_the_registrar_may_only_register_tokens_and_hand_the_job_to_the_call_function(synthesized):
    machine = synthesized.logical_id("AWS::StepFunctions::StateMachine", "WorkflowPausableStepFunction")

    assert scoped(statements_of(synthesized, "RegisterCorrelationKeyLambda")) == [
        own_logs(synthesized, "RegisterCorrelationKeyLambda"),
        (
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            arn_of(synthesized, "AWS::DynamoDB::Table", "CorrelationRegistry"),
        ),
        (["kms:Decrypt", "kms:Encrypt"], arn_of(synthesized, "AWS::KMS::Key", "CorrelationTokenKey")),
        (["lambda:InvokeFunction"], arn_of(synthesized, "AWS::Lambda::Function", "CallAsyncServiceLambda")),
        # A key in use fails the task; an early callback closes it; a heartbeat tells a holder that still waits.
        (["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"], {"Ref": machine}),
    ]


def test_the_janitor_may_only_expire_held_callbacks_and_drop_entries_of_ended_executions(synthesized):
    table = arn_of(synthesized, "AWS::DynamoDB::Table", "CorrelationRegistry")

    assert scoped(statements_of(synthesized, "CorrelationJanitorLambda")) == [
        own_logs(synthesized, "CorrelationJanitorLambda"),
        (
            [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            arn_of(synthesized, "AWS::SQS::Queue", "CorrelationEarlyCallbackWindowQueue"),
        ),
        # An ended execution held a key others wait in line for: the registrar moves the line on.
        (["lambda:InvokeFunction"], arn_of(synthesized, "AWS::Lambda::Function", "RegisterCorrelationKeyLambda")),
        # Put: a closed mark, or a held callback put back when it could not be dead-lettered.
        # Query: whether tasks wait in line for a key that the ended execution held.
        (["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"], table),
        (["dynamodb:Query"], {"Fn::Join": ["", [table, "/index/ByExecution"]]}),
        (
            ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            arn_of(synthesized, "AWS::SQS::Queue", "CallbackDeadLetterQueue"),
        ),
    ]


def test_call_function_may_only_send_to_the_job_request_queue(synthesized):
    queue = synthesized.logical_id("AWS::SQS::Queue", "EmulatedExternalServiceLongJobRequestQueue")

    table = synthesized.logical_id("AWS::DynamoDB::Table", "ApprovalApprovalRecords")
    topic = synthesized.logical_id("AWS::SNS::Topic", "ApprovalApprovalRequestsTopic")

    assert scoped(statements_of(synthesized, "CallAsyncServiceLambda")) == [
        own_logs(synthesized, "CallAsyncServiceLambda"),
        (["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], {"Fn::GetAtt": [queue, "Arn"]}),
        # A manual execution asks a person: it records the request and publishes it.
        (["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], {"Fn::GetAtt": [table, "Arn"]}),
        (["sns:Publish"], {"Ref": topic}),
    ]


def test_approval_function_may_only_record_requests_and_publish_them(synthesized):
    table = synthesized.logical_id("AWS::DynamoDB::Table", "ApprovalApprovalRecords")
    topic = synthesized.logical_id("AWS::SNS::Topic", "ApprovalApprovalRequestsTopic")

    assert scoped(statements_of(synthesized, "ApprovalRequestApprovalLambda")) == [
        own_logs(synthesized, "ApprovalRequestApprovalLambda"),
        (["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], {"Fn::GetAtt": [table, "Arn"]}),
        (["sns:Publish"], {"Ref": topic}),
    ]


def test_approval_page_may_only_decide_tasks_of_this_state_machine_and_read_its_executions(synthesized):
    table = synthesized.logical_id("AWS::DynamoDB::Table", "ApprovalApprovalRecords")
    machine = synthesized.logical_id("AWS::StepFunctions::StateMachine", "WorkflowPausableStepFunction")
    executions = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":states:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":execution:",
                {"Fn::GetAtt": [machine, "Name"]},
                ":*",
            ],
        ]
    }

    assert sorted(scoped(statements_of(synthesized, "ApprovalApprovalPageLambda")), key=str) == sorted(
        [
            own_logs(synthesized, "ApprovalApprovalPageLambda"),
            (["dynamodb:GetItem", "dynamodb:UpdateItem"], {"Fn::GetAtt": [table, "Arn"]}),
            (["states:SendTaskFailure", "states:SendTaskSuccess"], {"Ref": machine}),
            (["states:DescribeExecution"], executions),
        ],
        key=str,
    )


def test_emulated_job_may_only_consume_its_queue_and_publish_callbacks(synthesized):
    queue = synthesized.logical_id("AWS::SQS::Queue", "EmulatedExternalServiceLongJobRequestQueue")
    topic = synthesized.logical_id("AWS::SNS::Topic", "CallbackToUnpauseSfnTopic")

    assert scoped(statements_of(synthesized, "EmulatedLongJobLambda")) == [
        own_logs(synthesized, "EmulatedLongJobLambda"),
        (
            [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            {"Fn::GetAtt": [queue, "Arn"]},
        ),
        (["sns:Publish"], {"Ref": topic}),
        # grant_callback covers both ways in for callbacks by key: the topic, and events of the
        # channel's source and detail-type on the default bus.
        (["events:PutEvents"], {"Fn::Join": ["", [*EVENT_BUS_ARN_PARTS, ":event-bus/default"]]}),
    ]
    [put_events] = [s for s in statements_of(synthesized, "EmulatedLongJobLambda") if s["Action"] == "events:PutEvents"]
    assert put_events["Condition"] == {
        "StringEquals": {"events:source": "pausable-sfn.callbacks", "events:detail-type": "Task Callback"}
    }


EVENT_BUS_ARN_PARTS = [
    "arn:",
    {"Ref": "AWS::Partition"},
    ":events:",
    {"Ref": "AWS::Region"},
    ":",
    {"Ref": "AWS::AccountId"},
]


def test_state_machine_may_only_invoke_the_registrar_of_its_callback_channel(synthesized):
    function = synthesized.logical_id("AWS::Lambda::Function", "RegisterCorrelationKeyLambda")
    arn = {"Fn::GetAtt": [function, "Arn"]}

    assert scoped(statements_of(synthesized, "WorkflowPausableStepFunctionRole")) == [
        (["lambda:InvokeFunction"], [arn, {"Fn::Join": ["", [arn, ":*"]]}])
    ]


def test_no_statement_grants_a_wildcard_resource_it_could_name(synthesized):
    wildcards = [
        statement["Action"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == "*" or "*" in statement["Resource"]
    ]

    assert wildcards  # the X-Ray and log-delivery grants, so this test does look at the statements
    assert all(set(actions) <= UNSCOPABLE for actions in wildcards), wildcards


def test_no_function_uses_the_managed_basic_execution_role(synthesized):
    roles = synthesized.resources("AWS::IAM::Role").values()

    assert all("ManagedPolicyArns" not in role["Properties"] for role in roles)

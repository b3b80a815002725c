"""Least privilege: each role may do only what its code does, on the resources it names."""

# X-Ray accepts no resource-level permissions: "*" is the only resource these actions take.
UNSCOPABLE = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}


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


def test_resume_function_may_only_send_task_results_to_this_state_machine(synthesized):
    machine = synthesized.logical_id("AWS::StepFunctions::StateMachine", "WorkflowPausableStepFunction")

    assert scoped(statements_of(synthesized, "ResumeStepFunctionLambda")) == [
        (["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"], {"Ref": machine})
    ]


def test_call_function_may_only_send_to_the_job_request_queue(synthesized):
    queue = synthesized.logical_id("AWS::SQS::Queue", "EmulatedExternalServiceLongJobRequestQueue")

    assert scoped(statements_of(synthesized, "CallAsyncServiceLambda")) == [
        (["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], {"Fn::GetAtt": [queue, "Arn"]})
    ]


def test_emulated_job_may_only_consume_its_queue_and_publish_callbacks(synthesized):
    queue = synthesized.logical_id("AWS::SQS::Queue", "EmulatedExternalServiceLongJobRequestQueue")
    topic = synthesized.logical_id("AWS::SNS::Topic", "CallbackToUnpauseSfnTopic")

    assert scoped(statements_of(synthesized, "EmulatedLongJobLambda")) == [
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
    ]


def test_state_machine_may_only_invoke_the_call_function(synthesized):
    function = synthesized.logical_id("AWS::Lambda::Function", "CallAsyncServiceLambda")
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

    assert wildcards  # the X-Ray grants, so this test does look at the statements
    assert all(set(actions) <= UNSCOPABLE for actions in wildcards), wildcards

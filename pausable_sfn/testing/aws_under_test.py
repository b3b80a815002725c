"""What a test gets as `embedded_aws`: the session's deployed stack, seen through this one test.

The stack is deployed once per session; each test sees only what it started (its executions,
what the functions printed since it began), and the executions it leaves running are stopped
when it ends, so that their timers never fire into the next test.
"""

import json
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..local.clock import ClockError
from ..ops.operations import Operations
from .app_under_test import AppError, StackResources, listing
from .executions import Execution, StartedExecutions, WorkflowError, check_state_names, execution_name
from .targets import STATE_MACHINE, AwsTarget, EmbeddedTarget

if TYPE_CHECKING:
    from ..local.clock import Clock
    from .targets import MockedResponses

FUNCTION = "AWS::Lambda::Function"


class StateMachine:
    """A state machine of the stack, as one test starts it."""

    def __init__(self, aws: "AwsUnderTest", arn: str, path: str) -> None:
        self._aws = aws
        self.arn = arn
        # arn:aws:states:REGION:ACCOUNT:stateMachine:NAME, and a version's or alias's :QUALIFIER after it
        self.name = arn.split(":")[6] if arn.count(":") >= 6 else arn
        self.path = path  # its construct path in the app: "Orders"

    def __repr__(self) -> str:
        return f"<StateMachine {self.path or self.name}>"

    @property
    def definition(self) -> dict[str, Any]:
        described = self._aws.client("stepfunctions").describe_state_machine(stateMachineArn=self.arn)
        return dict(json.loads(described["definition"]))

    def start(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        test_case: str | None = None,
        mocks: "Mapping[str, MockedResponses] | None" = None,
    ) -> Execution:
        """StartExecution with `input` (anything JSON can hold; `{}` when none is given). On the
        embedded AWS, `test_case` runs it with a test case of the session's mock file (Step
        Functions Local's MockConfigFile.json), and `mocks` with the mocked responses given here:
        `{"Charge card": Return({...})}`, or a list of them, one per attempt."""
        __tracebackhide__ = True  # a mistake here is reported at the test's own line
        if test_case is not None and mocks is not None:
            raise WorkflowError("pass test_case= (a test case of the mock file) or mocks=, not both")
        target = self._aws.embedded("mocked tasks") if test_case is not None or mocks is not None else None
        generated = None
        if target is not None and mocks is not None:
            check_state_names(self.definition, mocks, what=f"mocks= of {self}")
            generated = test_case = f"pytest-{uuid.uuid4().hex[:12]}"
            try:
                target.add_mocks(self.name, generated, mocks)
            except ValueError as error:  # MockConfigError: a state's responses are not Return or Throw
                raise WorkflowError(f"mocks= of {self}: {error}".replace(f"{self.name}#{generated}.", "")) from None
        arn = self.arn if test_case is None else f"{self.arn}#{test_case}"
        name = name or execution_name(self._aws.test_name, uuid.uuid4().hex[:8])
        try:
            started = self._aws.client("stepfunctions").start_execution(
                stateMachineArn=arn, name=name, input=json.dumps({} if input is None else input)
            )
        except ClientError as error:  # a test case that is not there, a mocked state that is not either
            said = error.response["Error"]["Message"].replace(f"'{self.name}'", f"'{self.path or self.name}'")
            raise WorkflowError(f"cannot start {self}: {said}") from None
        finally:
            if target is not None and generated is not None:
                target.remove_mocks(self.name, generated)  # the execution took its test case as it started
        execution = Execution(
            self._aws.target,
            Operations(state_machine=self.arn, clients=self._aws.client),
            started["executionArn"],
            name,
            self.path or self.name,
        )
        self._aws.started.executions.append(execution)
        return execution

    def __str__(self) -> str:
        return self.path or self.name


class AwsUnderTest:
    """The deployed stack a test drives: its state machines, clients, outputs and logs; on the
    embedded AWS, also its clock."""

    def __init__(
        self,
        target: EmbeddedTarget | AwsTarget,
        resources: StackResources | None,
        test_name: str,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self.resources = resources
        self.test_name = test_name
        # For the code under test that runs in a process of its own: on the embedded AWS, its
        # endpoint, region and dummy credentials (this process has them in os.environ already).
        self.environment = dict(environment or {})
        self.started = StartedExecutions()
        # What the functions printed before this test began is not this test's.
        self._began_ms = int(self._now() * 1000)

    @property
    def is_embedded(self) -> bool:
        return self.target.is_embedded

    @property
    def clock(self) -> "Clock":
        """The embedded AWS's clock: `clock.advance(days=3)` fires every timer due on the way. On
        AWS, a test that asks for it is skipped, saying why."""
        return self.embedded("advancing the clock").clock

    @property
    def endpoint_url(self) -> str | None:
        """Where the embedded AWS listens (AWS_ENDPOINT_URL for the code under test); None on AWS."""
        return self.target.endpoint_url

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def outputs(self) -> dict[str, str]:
        """The stack's outputs, by their keys."""
        return self.target.outputs

    def client(self, service: str) -> Any:
        """A boto3 client of the target (shared by the session; boto3 clients are thread-safe)."""
        return self.target.client(service)

    def state_machine(self, key: str) -> StateMachine:
        """A state machine of the stack by its construct id or path in the app ("Orders"), its name
        or its ARN."""
        __tracebackhide__ = True
        resource, physical = self._find(STATE_MACHINE, key, what="state machine")
        return StateMachine(self, physical, resource)

    def logs(self, function: str) -> list[str]:
        """What `function` (its construct id or path, or its name) printed since this test began:
        each log event's message, oldest first. On the embedded AWS, once what runs has settled
        (an invocation under way has printed all it will); on AWS, as far as CloudWatch Logs has
        them, seconds behind."""
        __tracebackhide__ = True
        _, name = self._find(FUNCTION, function, what="function")
        if self.target.clock is not None:
            try:
                self.target.clock.settle()
            except ClockError as error:  # an invocation that runs on past the settling limit
                raise WorkflowError(f"the logs of {function}: {error}") from None
        group = self.target.log_group(name.rsplit(":", 1)[-1])
        logs = self.client("logs")
        try:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=self._began_ms)
            events = [event for page in pages for event in page["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return []  # nothing printed yet: the group comes with the first line
        return [str(event["message"]).rstrip("\n") for event in sorted(events, key=lambda e: e["timestamp"])]

    def embedded(self, what: str) -> EmbeddedTarget:
        """The embedded target; on AWS, skips the test with the reason (`what` needs the emulator)."""
        return self.target.embedded(what)

    def end(self) -> None:
        """The test is over: stop what it left running."""
        self.started.stop_running()

    def _now(self) -> float:
        clock = self.target.clock
        return clock.time() if clock is not None else time.time()

    def _find(self, resource_type: str, key: str, *, what: str) -> tuple[str, str]:
        """(its construct path, its physical id: a state machine's ARN, a function's name)."""
        __tracebackhide__ = True
        if resource_type == STATE_MACHINE and key.startswith("arn:") and ":stateMachine:" in key:
            return "", key  # an ARN says which; on AWS, a resource's logical id is looked up only when named
        if resource_type == FUNCTION and key.startswith("arn:") and ":function:" in key:
            return "", key.split(":")[6]
        if self.resources is not None:
            try:
                resource = self.resources.find(resource_type, key, what=what)
            except AppError as error:
                raise WorkflowError(str(error)) from None
            if resource is not None:
                return resource.path, self.target.physical_id(resource.logical_id)
            for candidate in self.resources.resources:
                if candidate.type == resource_type:
                    physical = self.target.physical_id(candidate.logical_id)
                    if key in (physical, physical.rsplit(":", 1)[-1]):
                        return candidate.path, physical
            known = listing(self.resources.paths(resource_type))
            raise WorkflowError(f"the stack {self.resources.stack} has no {what} {key!r} (it has: {known})")
        if resource_type == FUNCTION:
            return "", key  # without the app's assembly, a function is named by its name
        raise WorkflowError(f"{what} {key!r}: without the app's assembly, name it by its ARN")

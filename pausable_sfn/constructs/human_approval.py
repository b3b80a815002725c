"""HumanApproval: a person approves or rejects a paused task from a link, safely."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .functions import POWERTOOLS_VERSION, FunctionFactory
from .grants import executions_of, grant_on_state_machine, task_response
from .nag import acknowledge, as_nag_names_it

# Enough for the people of a team deciding at once, and a ceiling on what a flood of requests to
# the public URL can cost; beyond it Lambda answers 429 at once.
DEFAULT_PAGE_CONCURRENCY = 10


class HumanApproval(Construct):
    """Asks people to approve or reject paused tasks, by a link they open in a browser.

    A PausableTask given `approval=` (or a function granted `grant_request`) hands its token to
    `request_function`, which records the request and publishes an approval request to `topic`,
    with a link to the approval page at `page_url` (a Lambda function URL). People subscribe
    their e-mail addresses to the topic. The page shows the request and a form; Approve resumes the
    task with {"approved": true, "decidedBy", "comment", "decidedAt"}, Reject fails it with the error
    "Rejected" and the comment as its cause.

    Why it is safe to act on a link:
    - A link carries a random secret of 256 bits, never the task token; it names one request of
      one task, expires (when the task times out, or after `link_lifetime`), and a changed link
      opens nothing. The table keeps only the secret's hash.
    - Mail scanners and chat unfurlers open links before people do: GET and HEAD never decide.
      Only a POST of the page's own form does, carrying an anti-forgery value that only the page
      holds; the first decision wins (a conditional write) and is recorded: who, what, when, from
      which address.
    - The page loads nothing from anywhere (no script at all) and forbids framing; the link never
      leaves in a Referer, and no cache keeps the page.
    - The page's function runs at most `page_concurrency` at once (reserved concurrency; None: no
      reservation, for accounts whose concurrency quota leaves none to reserve).

    Let each state machine in with `allow_resuming` (PausableStateMachine does it for the tasks it
    finds, and for the approvals given in its `channels`).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        link_lifetime: Duration | None = None,
        page_concurrency: int | None = DEFAULT_PAGE_CONCURRENCY,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        powertools_version: str = POWERTOOLS_VERSION,
    ) -> None:
        if link_lifetime is not None and link_lifetime.to_seconds() < 60:
            raise ValueError(f"HumanApproval '{id}': link_lifetime must be a minute or more")
        if page_concurrency is not None and page_concurrency < 1:
            raise ValueError(f"HumanApproval '{id}': page_concurrency must be 1 or more, or None")
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self,
            "ApprovalRecords",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="deleteAfter",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Records hold task tokens for as long as their tasks wait, then who decided: encrypted
            # with the account's AWS managed key, whose use CloudTrail records.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.topic = sns.Topic(
            self,
            "ApprovalRequestsTopic",
            display_name="Approval requests",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "AwsManagedSnsKey", "alias/aws/sns"),
        )
        functions = FunctionFactory(self, log_retention=log_retention, powertools_version=powertools_version)
        self.page_function = functions.create(
            "ApprovalPageLambda",
            handler="approval_page",
            description="The approval page: shows a request on GET, decides on a POST of its own form",
            environment={"APPROVAL_TABLE": self.table.table_name},
            reserved_concurrent_executions=page_concurrency,
            # Room for Step Functions' retries (its clients give up within seconds): the page, not
            # Lambda's timeout, must be the one to tell the person what happened to the decision.
            timeout_seconds=30,
        )
        # The link is the credential: the page needs no sign-in (a person with only a browser uses it).
        self.page_url = self.page_function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE).url
        self._link_lifetime = link_lifetime
        self.request_function = functions.create(
            "RequestApprovalLambda",
            handler="request_approval",
            description="Records a task's approval request and publishes its link; issues fresh links",
        )
        self.let_ask(self.request_function)
        self.table.grant(self.page_function, "dynamodb:GetItem", "dynamodb:UpdateItem")

    def allow_resuming(self, state_machine: sfn.IStateMachine) -> None:
        """Lets the page decide the tasks of `state_machine` (SendTaskSuccess and SendTaskFailure on
        it), and read whether its executions still run (DescribeExecution on them)."""
        role = self.page_function.role
        assert role is not None  # FunctionFactory made it
        executions = executions_of(state_machine)
        # A policy of its own, not the role's default one: the page function depends on its default
        # policy, and a state machine whose task hands a token to a function that asks for
        # approval depends, through that function's URL variable, on the page function.
        policy = grant_on_state_machine(
            self,
            role,
            state_machine,
            [
                task_response(state_machine, "states:SendTaskSuccess", "states:SendTaskFailure"),
                iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]),
            ],
            own_policy=True,
        )
        assert policy is not None
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{as_nag_names_it(policy, executions)}]",
            "Reading whether an execution of this one state machine still runs (DescribeExecution), so the "
            "approval page offers no form for one that has ended: execution names are not known in advance.",
        )

    def let_ask(self, function: lambda_.Function) -> None:
        """Lets a function of the package's asset ask people itself, as `request_function` does
        (`handlers.approval_requests`): it learns where the table, the topic and the page are from
        its environment, and may write requests (GetItem, PutItem, UpdateItem on the table) and
        publish them (sns:Publish on the topic). For a function that hands a token to a person in
        some cases only (the demo's CallAsyncServiceLambda in manual mode)."""
        environment = {
            "APPROVAL_TABLE": self.table.table_name,
            "APPROVAL_TOPIC_ARN": self.topic.topic_arn,
            "APPROVAL_PAGE_URL": self.page_url,
        }
        if self._link_lifetime is not None:
            environment["LINK_LIFETIME_SECONDS"] = str(int(self._link_lifetime.to_seconds()))
        for name, value in environment.items():
            function.add_environment(name, value)
        self.table.grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        # sns:Publish alone: the AWS managed key's policy already lets SNS use it for this account.
        function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]))

    def grant_request(self, grantee: iam.IGrantable) -> None:
        """Lets `grantee` ask for approvals and fresh links by invoking `request_function`, that
        function only (not its versions or aliases): what an operator who sends links needs."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.request_function.function_arn])
        )

"""Deploys a synthesized stack into the embedded AWS, resource by resource, through the AWS APIs.

It reads the template CDK wrote, orders the resources by their references, resolves the
intrinsic functions, and creates each resource with the call CloudFormation would make. No
definition is written twice: the state machine, the functions and the policies are the
template's. A resource type it does not know stops the deploy with its type and logical id.
"""

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, ClassVar

from .assembly import StackArtifact
from .awslambda.gaps import publish_stand_in_layer
from .events import SqsEventSource
from .intrinsics import NO_VALUE, references, resolve
from .runtime import FunctionConfig
from .sqs.gaps import detach_sqs_push_delivery

ClientFactory = Callable[[str], Any]
# Creates the CloudFormation stack that holds a deployment's outputs (name, template).
StackPublisher = Callable[[str, dict[str, Any]], None]
POWERTOOLS_PARAMETER_PREFIX = "/aws/service/powertools/"
SKIPPED_TYPES = {"AWS::CDK::Metadata"}  # CDK's usage report; not a resource of the app


class DeployError(RuntimeError):
    pass


@dataclass(frozen=True)
class Created:
    """What a creator made: its Ref value, and the attributes Fn::GetAtt can read."""

    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Deployed:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any]


@dataclass
class Deployment:
    stack_name: str
    region: str
    account_id: str
    resources: dict[str, Deployed]
    outputs: dict[str, str]
    functions: list[FunctionConfig]
    sqs_event_sources: list[SqsEventSource]


class Deployer:
    def __init__(self, clients: ClientFactory, *, region: str, account_id: str, publish_stack: StackPublisher) -> None:
        self._clients = clients
        self._region = region
        self._account_id = account_id
        self._publish_stack = publish_stack

    def deploy(self, stack: StackArtifact, *, stack_name: str | None = None) -> Deployment:
        run = _Run(self, stack, stack_name or stack.name)
        return run.execute()

    # Resource creators: each returns the resource's Ref value and its attributes (Fn::GetAtt).

    def _iam_role(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        iam = self._clients("iam")
        name = props.get("RoleName") or run.physical_name(logical_id, 64)
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
            Description=props.get("Description", ""),
            Path=props.get("Path", "/"),
        )["Role"]
        for arn in props.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
            )
        return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def _iam_policy(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        iam = self._clients("iam")
        for role in props.get("Roles", []):
            iam.put_role_policy(
                RoleName=role, PolicyName=props["PolicyName"], PolicyDocument=json.dumps(props["PolicyDocument"])
            )
        return Created(props["PolicyName"])

    def _sns_topic(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        attributes = {key: str(props[key]) for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic") if key in props}
        name = props.get("TopicName") or run.physical_name(logical_id, 256)
        arn = self._clients("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return Created(arn, {"TopicArn": arn, "TopicName": name})

    def _sns_topic_policy(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        for topic in props["Topics"]:
            self._clients("sns").set_topic_attributes(
                TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
            )
        return Created(run.physical_name(logical_id, 256))

    def _sns_subscription(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        attributes = {
            key: json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key]).lower()
            for key in ("RedrivePolicy", "FilterPolicy", "RawMessageDelivery")
            if key in props
        }
        arn = self._clients("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return Created(arn, {"Arn": arn})

    def _sqs_queue(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        name = props.get("QueueName") or run.physical_name(logical_id, 80)
        attributes = {
            key: json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for key, value in props.items()
            if key not in ("QueueName", "Tags")
        }
        sqs = self._clients("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _sqs_queue_policy(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        for url in props["Queues"]:
            self._clients("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
        return Created(run.physical_name(logical_id, 256))

    def _log_group(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        logs = self._clients("logs")
        name = props.get("LogGroupName") or run.physical_name(logical_id, 512)
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        arn = f"arn:aws:logs:{self._region}:{self._account_id}:log-group:{name}:*"
        return Created(name, {"Arn": arn})

    def _lambda_function(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        name = props.get("FunctionName") or run.physical_name(logical_id, 64)
        asset_dir = run.stack.asset_dir(props["Code"]["S3Key"])
        environment = props.get("Environment", {}).get("Variables", {})
        optional = {
            key: props[key] for key in ("TracingConfig", "DeadLetterConfig", "Layers", "Architectures") if key in props
        }
        created = self._clients("lambda").create_function(
            FunctionName=name,
            Runtime=props["Runtime"],
            Role=props["Role"],
            Handler=props["Handler"],
            Code={"ZipFile": _zip_folder(asset_dir)},
            Description=props.get("Description", ""),
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": environment},
            **optional,
        )
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved is not None:
            self._clients("lambda").put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=int(reserved)
            )
        log_group = props.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{name}"
        run.functions[name] = FunctionConfig(
            name=name,
            arn=created["FunctionArn"],
            handler=props["Handler"],
            asset_dir=asset_dir,
            environment={key: str(value) for key, value in environment.items()},
            timeout_seconds=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            log_group=log_group,
            dead_letter_arn=props.get("DeadLetterConfig", {}).get("TargetArn"),
            reserved_concurrency=None if reserved is None else int(reserved),
        )
        return Created(name, {"Arn": created["FunctionArn"]})

    def _lambda_permission(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        keys = ("SourceArn", "SourceAccount", "PrincipalOrgID", "FunctionUrlAuthType", "InvokedViaFunctionUrl")
        optional = {key: props[key] for key in keys if key in props}
        self._clients("lambda").add_permission(
            FunctionName=props["FunctionName"],
            StatementId=logical_id,
            Action=props["Action"],
            Principal=props["Principal"],
            **optional,
        )
        return Created(logical_id)

    def _lambda_url(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        """The function's URL, served on the embedded AWS's endpoint (gap 18, awslambda/gaps.py)."""
        if "Qualifier" in props:
            raise DeployError(
                f"AWS::Lambda::Url ({logical_id}) is for {props['Qualifier']}: the embedded AWS deploys no "
                "versions or aliases, and serves the URLs of functions themselves only"
            )
        mode = props.get("InvokeMode", "BUFFERED")
        if mode != "BUFFERED":
            raise DeployError(
                f"AWS::Lambda::Url ({logical_id}): the embedded AWS serves BUFFERED URLs only, not {mode}"
            )
        config = self._clients("lambda").create_function_url_config(
            FunctionName=props["TargetFunctionArn"],
            AuthType=props["AuthType"],
            InvokeMode=mode,
            **({"Cors": props["Cors"]} if "Cors" in props else {}),
        )
        arn = config["FunctionArn"]
        return Created(arn, {"FunctionArn": arn, "FunctionUrl": config["FunctionUrl"]})

    def _lambda_event_source_mapping(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        source_arn = props["EventSourceArn"]
        if source_arn.split(":")[2] != "sqs":
            raise DeployError(f"{logical_id}: the embedded AWS polls SQS event sources only, not {source_arn}")
        mapping = self._clients("lambda").create_event_source_mapping(
            EventSourceArn=source_arn,
            FunctionName=props["FunctionName"],
            BatchSize=int(props.get("BatchSize", 10)),
            Enabled=props.get("Enabled", True),
            FunctionResponseTypes=props.get("FunctionResponseTypes", []),
        )
        queue_name = source_arn.split(":")[5]
        detach_sqs_push_delivery(self._account_id, self._region, queue_name)
        if props.get("Enabled", True):
            queue_url = self._clients("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
            run.sqs_event_sources.append(
                SqsEventSource(
                    uuid=mapping["UUID"],
                    queue_arn=source_arn,
                    queue_url=queue_url,
                    function=run.function_name(props["FunctionName"]),
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                )
            )
        return Created(mapping["UUID"])

    def _lambda_event_invoke_config(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        function = run.functions[run.function_name(props["FunctionName"])]
        if "MaximumRetryAttempts" in props:
            function.max_retry_attempts = int(props["MaximumRetryAttempts"])
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        function.on_failure_arn = on_failure
        return Created(logical_id)

    def _dynamodb_table(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        dynamodb = self._clients("dynamodb")
        name = props.get("TableName") or run.physical_name(logical_id, 255)
        billing = props.get("BillingMode", "PROVISIONED")
        provisioned = billing == "PROVISIONED"
        options: dict[str, Any] = {"BillingMode": billing}
        if provisioned:
            options["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
        if "GlobalSecondaryIndexes" in props:
            options["GlobalSecondaryIndexes"] = [
                _index(index, _throughput(index.get("ProvisionedThroughput")) if provisioned else None)
                for index in props["GlobalSecondaryIndexes"]
            ]
        if "LocalSecondaryIndexes" in props:
            options["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
        if "StreamSpecification" in props:
            options["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if "SSESpecification" in props:
            sse = props["SSESpecification"]
            options["SSESpecification"] = {
                "Enabled": bool(sse.get("SSEEnabled", False)),
                **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
            }
        for key in ("TableClass", "DeletionProtectionEnabled", "Tags"):
            if key in props:
                options[key] = props[key]
        table = dynamodb.create_table(
            TableName=name, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"], **options
        )["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
            )
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        attributes = {"Arn": table["TableArn"], "TableId": table.get("TableId", "")}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Created(name, attributes)

    def _dynamodb_global_table(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        """A global table with its one replica in this region is a table; the settings CloudFormation
        takes per replica (and per index of a replica) are that table's."""
        replicas = {replica["Region"]: replica for replica in props.get("Replicas", [])}
        elsewhere = sorted(set(replicas) - {self._region})
        if elsewhere:
            raise DeployError(
                f"AWS::DynamoDB::GlobalTable ({logical_id}) has replicas in {', '.join(elsewhere)}: the embedded "
                f"AWS is one region ({self._region}) and cannot create them"
            )
        if self._region not in replicas:
            raise DeployError(f"AWS::DynamoDB::GlobalTable ({logical_id}) has no replica in {self._region}")
        replica = replicas[self._region]
        copied = (
            "TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "LocalSecondaryIndexes",
            "StreamSpecification", "TimeToLiveSpecification",
        )  # fmt: skip
        table = {key: props[key] for key in copied if key in props}
        for key in ("PointInTimeRecoverySpecification", "TableClass", "DeletionProtectionEnabled", "Tags"):
            if key in replica:
                table[key] = replica[key]
        sse = {**props.get("SSESpecification", {}), **replica.get("SSESpecification", {})}
        if sse:
            table["SSESpecification"] = sse
        provisioned = props.get("BillingMode", "PROVISIONED") == "PROVISIONED"
        if provisioned:
            table["ProvisionedThroughput"] = _global_throughput(replica, props)
        if "GlobalSecondaryIndexes" in props:
            replica_index = {index["IndexName"]: index for index in replica.get("GlobalSecondaryIndexes", [])}
            table["GlobalSecondaryIndexes"] = []
            for index in props["GlobalSecondaryIndexes"]:
                capacity = _global_throughput(replica_index.get(index["IndexName"], {}), index) if provisioned else None
                table["GlobalSecondaryIndexes"].append(_index(index, capacity))
        return self._dynamodb_table(run, table, logical_id)

    def _state_machine(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        name = props.get("StateMachineName") or run.physical_name(logical_id, 80)
        definition = props.get("DefinitionString") or json.dumps(props["Definition"])
        optional = {
            key: value
            for key, value in (
                ("loggingConfiguration", _lower_first(props.get("LoggingConfiguration"))),
                ("tracingConfiguration", _lower_first(props.get("TracingConfiguration"))),
            )
            if value
        }
        arn = self._clients("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
            **optional,
        )["stateMachineArn"]
        return Created(arn, {"Arn": arn, "Name": name})

    def _events_bus(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        arn = self._clients("events").create_event_bus(Name=props["Name"])["EventBusArn"]
        return Created(props["Name"], {"Arn": arn, "Name": props["Name"]})

    def _events_rule(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        """A rule and its targets. A schedule is recorded, not run (docs/embedded-aws.md)."""
        events = self._clients("events")
        name = props.get("Name") or run.physical_name(logical_id, 64)
        bus = props.get("EventBusName", "default")
        rule = {
            key: value
            for key, value in (
                ("EventPattern", json.dumps(props["EventPattern"]) if "EventPattern" in props else None),
                ("ScheduleExpression", props.get("ScheduleExpression")),
                ("Description", props.get("Description")),
                ("RoleArn", props.get("RoleArn")),
            )
            if value is not None
        }
        state = "DISABLED" if props.get("State") == "DISABLED" else "ENABLED"
        arn = events.put_rule(Name=name, EventBusName=bus, State=state, **rule)["RuleArn"]
        if props.get("Targets"):
            events.put_targets(Rule=name, EventBusName=bus, Targets=props["Targets"])
        bus_name = bus.rsplit("/", 1)[-1]
        # Ref is the rule's name, "bus|name" on a bus of the stack's own (AWS::Events::Rule, CloudFormation).
        return Created(name if bus_name == "default" else f"{bus_name}|{name}", {"Arn": arn})

    def _kms_key(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        """A key (Ref: its id) with its policy, usage and rotation; a deployment deletes nothing, so a
        PendingWindowInDays has nothing to do here."""
        kms = self._clients("kms")
        copied = ("Description", "KeyUsage", "KeySpec", "MultiRegion")
        options: dict[str, Any] = {key: props[key] for key in copied if key in props}
        if "Tags" in props:  # CloudFormation's Key/Value, KMS's TagKey/TagValue
            options["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in props["Tags"]]
        if "KeyPolicy" in props:
            options["Policy"] = json.dumps(props["KeyPolicy"])
        key = kms.create_key(**options)["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        if props.get("Enabled") is False:
            kms.disable_key(KeyId=key["KeyId"])
        return Created(key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})

    def _alarm(self, run: "_Run", props: dict[str, Any], logical_id: str) -> Created:
        name = props.get("AlarmName") or run.physical_name(logical_id, 255)
        keys = (
            "AlarmDescription", "MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods", "Threshold",
            "ComparisonOperator", "TreatMissingData", "Dimensions", "AlarmActions", "OKActions", "DatapointsToAlarm",
        )  # fmt: skip
        numbers = {"Period", "EvaluationPeriods", "DatapointsToAlarm"}
        options = {key: int(props[key]) if key in numbers else props[key] for key in keys if key in props}
        if "Threshold" in options:
            options["Threshold"] = float(options["Threshold"])
        self._clients("cloudwatch").put_metric_alarm(AlarmName=name, **options)
        arn = f"arn:aws:cloudwatch:{self._region}:{self._account_id}:alarm:{name}"
        return Created(name, {"Arn": arn})

    CREATORS: ClassVar[dict[str, Callable[..., Created]]] = {
        "AWS::IAM::Role": _iam_role,
        "AWS::IAM::Policy": _iam_policy,
        "AWS::SNS::Topic": _sns_topic,
        "AWS::SNS::TopicPolicy": _sns_topic_policy,
        "AWS::SNS::Subscription": _sns_subscription,
        "AWS::SQS::Queue": _sqs_queue,
        "AWS::SQS::QueuePolicy": _sqs_queue_policy,
        "AWS::Logs::LogGroup": _log_group,
        "AWS::Lambda::Function": _lambda_function,
        "AWS::Lambda::Permission": _lambda_permission,
        "AWS::Lambda::EventSourceMapping": _lambda_event_source_mapping,
        "AWS::Lambda::EventInvokeConfig": _lambda_event_invoke_config,
        "AWS::Lambda::Url": _lambda_url,
        "AWS::StepFunctions::StateMachine": _state_machine,
        "AWS::CloudWatch::Alarm": _alarm,
        "AWS::KMS::Key": _kms_key,
        "AWS::Events::EventBus": _events_bus,
        "AWS::Events::Rule": _events_rule,
        "AWS::DynamoDB::Table": _dynamodb_table,
        "AWS::DynamoDB::GlobalTable": _dynamodb_global_table,
    }

    def resolve_parameter(self, run: "_Run", logical_id: str, declaration: dict[str, Any]) -> Any:
        parameter_type = declaration.get("Type", "String")
        if parameter_type == "AWS::SSM::Parameter::Value<String>":
            name = declaration["Default"]
            if name.startswith(POWERTOOLS_PARAMETER_PREFIX):
                return publish_stand_in_layer(self._clients("lambda"), name)
            if name.startswith("/cdk-bootstrap/"):
                return "99"  # the bootstrap version rule: nothing to bootstrap locally
            return self._clients("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        if "Default" in declaration:
            return declaration["Default"]
        raise DeployError(f"parameter {logical_id} has no default, and the embedded deploy takes no parameters")

    def publish_outputs(self, stack_name: str, outputs: dict[str, str]) -> None:
        """Outputs go into a CloudFormation stack of the same name, where the tools look for them."""
        template = {
            "Resources": {"EmbeddedDeployment": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        self._publish_stack(stack_name, template)


class _Run:
    def __init__(self, deployer: Deployer, stack: StackArtifact, stack_name: str) -> None:
        self.deployer = deployer
        self.stack = stack
        self.stack_name = stack_name
        self.deployed: dict[str, Deployed] = {}
        self.parameters: dict[str, Any] = {}
        self.functions: dict[str, FunctionConfig] = {}
        self.sqs_event_sources: list[SqsEventSource] = []

    def physical_name(self, logical_id: str, limit: int) -> str:
        name = f"{self.stack_name}-{logical_id}"
        if len(name) > limit:
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            name = f"{name[: limit - 9]}-{digest}"
        return name

    def function_name(self, name_or_arn: str) -> str:
        return name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn

    def ref(self, name: str) -> Any:
        region, account = self.deployer._region, self.deployer._account_id
        pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{self.stack_name}/embedded",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.deployed[name].ref

    def get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return self.deployed[logical_id].attributes[attribute]
        except KeyError:
            raise DeployError(f"Fn::GetAtt {logical_id}.{attribute} is not supported by the embedded AWS") from None

    def execute(self) -> Deployment:
        template = self.stack.template
        for logical_id, declaration in template.get("Parameters", {}).items():
            self.parameters[logical_id] = self.deployer.resolve_parameter(self, logical_id, declaration)
        resources = {key: value for key, value in template["Resources"].items() if value["Type"] not in SKIPPED_TYPES}
        unsupported = [
            f"{value['Type']} ({key})" for key, value in resources.items() if value["Type"] not in Deployer.CREATORS
        ]
        if unsupported:
            raise DeployError(f"the embedded AWS cannot deploy: {', '.join(unsupported)}")
        for logical_id, declaration in resources.items():
            if "Condition" in declaration:
                raise DeployError(
                    f"{declaration['Type']} ({logical_id}) has a Condition, which the embedded deploy does not evaluate"
                )

        graph: TopologicalSorter[str] = TopologicalSorter()
        for logical_id, declaration in resources.items():
            depends_on = declaration.get("DependsOn", [])
            depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
            needed = {ref for ref in references(declaration.get("Properties", {})) if ref in resources}
            graph.add(logical_id, *needed, *depends_on)
        try:
            order = list(graph.static_order())
        except CycleError as cycle:
            raise DeployError(f"the template's resources depend on each other in a cycle: {cycle.args[1]}") from None

        for logical_id in order:
            declaration = resources[logical_id]
            properties = resolve(declaration.get("Properties", {}), self.ref, self.get_att)
            creator = Deployer.CREATORS[declaration["Type"]]
            try:
                created = creator(self.deployer, self, properties, logical_id)
            except DeployError:
                raise
            except Exception as error:
                raise DeployError(f"{declaration['Type']} ({logical_id}) could not be created: {error}") from error
            self.deployed[logical_id] = Deployed(logical_id, declaration["Type"], created.ref, created.attributes)

        outputs = {
            key: str(resolve(value["Value"], self.ref, self.get_att))
            for key, value in template.get("Outputs", {}).items()
        }
        self.deployer.publish_outputs(self.stack_name, outputs)
        return Deployment(
            stack_name=self.stack_name,
            region=self.deployer._region,
            account_id=self.deployer._account_id,
            resources=self.deployed,
            outputs=outputs,
            functions=list(self.functions.values()),
            sqs_event_sources=self.sqs_event_sources,
        )


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


# What CloudFormation gives a provisioned table, or an index, that declares no capacity.
DEFAULT_CAPACITY = 5


def _throughput(declared: dict[str, Any] | None) -> dict[str, int]:
    declared = declared or {}
    return {
        "ReadCapacityUnits": int(declared.get("ReadCapacityUnits", DEFAULT_CAPACITY)),
        "WriteCapacityUnits": int(declared.get("WriteCapacityUnits", DEFAULT_CAPACITY)),
    }


def _index(declared: dict[str, Any], throughput: dict[str, int] | None) -> dict[str, Any]:
    index = {key: declared[key] for key in ("IndexName", "KeySchema", "Projection")}
    if throughput is not None:
        index["ProvisionedThroughput"] = throughput
    return index


def _global_throughput(reads_from: dict[str, Any], writes_from: dict[str, Any]) -> dict[str, int]:
    """A global table's capacity: reads are set per replica, writes for the table (or index); an
    auto-scaled capacity starts at its minimum."""
    read = reads_from.get("ReadProvisionedThroughputSettings", {})
    write = writes_from.get("WriteProvisionedThroughputSettings", {})
    return {
        "ReadCapacityUnits": int(
            read.get("ReadCapacityUnits")
            or read.get("ReadCapacityAutoScalingSettings", {}).get("MinCapacity", DEFAULT_CAPACITY)
        ),
        "WriteCapacityUnits": int(
            write.get("WriteCapacityAutoScalingSettings", {}).get("MinCapacity", DEFAULT_CAPACITY)
        ),
    }


def _lower_first(value: Any) -> Any:
    """CloudFormation's property names (Level, Enabled) as the Step Functions API spells them."""
    if isinstance(value, dict):
        return {key[0].lower() + key[1:]: _lower_first(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_first(item) for item in value]
    return value

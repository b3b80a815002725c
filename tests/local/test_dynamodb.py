"""DynamoDB in the embedded AWS: tables deployed as CDK 2 synthesizes them (`dynamodb.Table` makes
an AWS::DynamoDB::Table, `dynamodb.TableV2` an AWS::DynamoDB::GlobalTable with one replica), and
conditional writes that are atomic, as on DynamoDB."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.config import Config

from pausable_sfn.local.deployer import DeployError
from pausable_sfn.local.embedded import EmbeddedAws

from .test_deployer import assembly

KEY = {"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
# What CDK 2 (aws-cdk-lib 2.275) synthesizes for
#   dynamodb.Table(partition_key=id, sort_key=sk (number), billing_mode=PAY_PER_REQUEST,
#                  time_to_live_attribute="ttl", point_in_time_recovery_specification=enabled,
#                  stream=NEW_IMAGE, removal_policy=DESTROY)
TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
        "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
    },
    "UpdateReplacePolicy": "Delete",
    "DeletionPolicy": "Delete",
}
# ... for dynamodb.TableV2(partition_key=id, time_to_live_attribute="expiresAt",
#                          point_in_time_recovery_specification=enabled, removal_policy=DESTROY)
TABLE_V2 = {
    "Type": "AWS::DynamoDB::GlobalTable",
    "Properties": {
        **KEY,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "Replicas": [
            {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}, "Region": {"Ref": "AWS::Region"}}
        ],
        "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
    },
    "UpdateReplacePolicy": "Delete",
    "DeletionPolicy": "Delete",
}
# ... and for dynamodb.TableV2(partition_key=id, billing=Billing.provisioned(read=Capacity.fixed(7),
#     write=Capacity.autoscaled(max_capacity=20)), global_secondary_indexes=[byStatus],
#     dynamo_stream=NEW_AND_OLD_IMAGES, encryption=aws_managed_key(), deletion_protection=True,
#     table_class=STANDARD_INFREQUENT_ACCESS)
WRITE_AUTOSCALED = {
    "WriteCapacityAutoScalingSettings": {
        "MaxCapacity": 20,
        "MinCapacity": 1,
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70},
    }
}
PROVISIONED_V2 = {
    "Type": "AWS::DynamoDB::GlobalTable",
    "Properties": {
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        "BillingMode": "PROVISIONED",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "byStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "WriteProvisionedThroughputSettings": WRITE_AUTOSCALED,
            }
        ],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "Replicas": [
            {
                "DeletionProtectionEnabled": True,
                "GlobalSecondaryIndexes": [
                    {"IndexName": "byStatus", "ReadProvisionedThroughputSettings": {"ReadCapacityUnits": 7}}
                ],
                "ReadProvisionedThroughputSettings": {"ReadCapacityUnits": 7},
                "Region": "us-east-1",
                "TableClass": "STANDARD_INFREQUENT_ACCESS",
            }
        ],
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "WriteProvisionedThroughputSettings": WRITE_AUTOSCALED,
    },
    "UpdateReplacePolicy": "Retain",
    "DeletionPolicy": "Retain",
}


def test_a_table_is_created_with_its_keys_billing_time_to_live_recovery_and_stream(tmp_path):
    with EmbeddedAws() as aws:
        deployment = aws.deploy(assembly(tmp_path, {"Approvals": TABLE}), stack_name="Stack")
        name = deployment.resources["Approvals"].ref
        dynamodb = aws.client("dynamodb")
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]

    assert name == "Stack-Approvals"
    assert [(key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]] == [("id", "HASH"), ("sk", "RANGE")]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    attributes = deployment.resources["Approvals"].attributes
    assert (attributes["Arn"], attributes["StreamArn"]) == (table["TableArn"], table["LatestStreamArn"])


def test_a_table_v2_is_a_table_in_this_region_with_its_replicas_settings(tmp_path):
    named = {**TABLE_V2, "Properties": {**TABLE_V2["Properties"], "TableName": "approvals"}}

    with EmbeddedAws() as aws:
        deployment = aws.deploy(assembly(tmp_path, {"Approvals": named}), stack_name="Stack")
        dynamodb = aws.client("dynamodb")
        table = dynamodb.describe_table(TableName="approvals")["Table"]
        ttl = dynamodb.describe_time_to_live(TableName="approvals")["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName="approvals")["ContinuousBackupsDescription"]

    assert deployment.resources["Approvals"].ref == "approvals"
    assert deployment.resources["Approvals"].attributes["Arn"] == table["TableArn"]
    assert "StreamArn" not in deployment.resources["Approvals"].attributes  # no stream declared
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_a_provisioned_table_v2_reads_at_its_replicas_capacity_and_writes_at_its_autoscaling_minimum(tmp_path):
    with EmbeddedAws() as aws:
        deployment = aws.deploy(assembly(tmp_path, {"Requests": PROVISIONED_V2}), stack_name="Stack")
        table = aws.client("dynamodb").describe_table(TableName=deployment.resources["Requests"].ref)["Table"]

    def capacity(throughput: dict) -> tuple[int, int]:
        return throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]

    assert capacity(table["ProvisionedThroughput"]) == (7, 1)
    [index] = table["GlobalSecondaryIndexes"]
    assert (index["IndexName"], capacity(index["ProvisionedThroughput"])) == ("byStatus", (7, 1))
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["DeletionProtectionEnabled"] is True


def test_a_global_table_with_a_replica_in_another_region_is_refused_naming_it(tmp_path):
    elsewhere = {"Region": "eu-west-1"}
    replicated = {**TABLE_V2, "Properties": {**TABLE_V2["Properties"]}}
    replicated["Properties"]["Replicas"] = [*TABLE_V2["Properties"]["Replicas"], elsewhere]

    with (
        EmbeddedAws() as aws,
        pytest.raises(DeployError, match=r"GlobalTable \(Approvals\) has replicas in eu-west-1"),
    ):
        aws.deploy(assembly(tmp_path, {"Approvals": replicated}), stack_name="Stack")


def race_conditional_updates(dynamodb: Any, table: str, threads: int) -> int:
    """`threads` UpdateItem at once on one item, each on condition that no decision was made yet:
    how many succeed. Each update that has passed moto's check waits, before its write (its update
    expression is validated in between), until every update has passed it: the race, which happens
    now and then on its own, happens every time, however loaded the machine. Where requests are
    applied one at a time, only one update is ever there: the gate gives up waiting after a few
    seconds and lets each through in turn."""
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    dynamodb.put_item(TableName=table, Item={"id": {"S": "request-1"}})
    original_validate = UpdateExpressionValidator.validate
    start = threading.Barrier(threads)
    checked = threading.Barrier(threads, timeout=3)

    def validate_once_all_have_checked(validator: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait()
        return original_validate(validator)

    def decide(choice: int) -> bool:
        start.wait()
        try:
            dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": "request-1"}},
                UpdateExpression="SET decision = :choice",
                ConditionExpression="attribute_not_exists(decision)",
                ExpressionAttributeValues={":choice": {"N": str(choice)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    with (
        mock.patch.object(UpdateExpressionValidator, "validate", validate_once_all_have_checked),
        ThreadPoolExecutor(max_workers=threads) as pool,
    ):
        return sum(pool.map(decide, range(threads)))


def test_of_twenty_conditional_updates_racing_on_one_item_over_http_exactly_one_succeeds(tmp_path: Path):
    with EmbeddedAws(in_process=False) as aws:
        deployment = aws.deploy(assembly(tmp_path, {"Approvals": TABLE_V2}), stack_name="Stack")
        # As the Lambda environments reach it: over HTTP, each on its own connection.
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=aws.endpoint_url,
            region_name=aws.region,
            aws_access_key_id="embedded",
            aws_secret_access_key="embedded",
            config=Config(max_pool_connections=20),
        )
        successes = race_conditional_updates(dynamodb, deployment.resources["Approvals"].ref, 20)

    assert successes == 1

"""The endpoint keeps a client's connection open between its calls, as AWS's endpoints do, and
that never mixes one request up with the next: a body left unread, a chunked body, a stop."""

import http.client
import json
import socket
from collections.abc import Iterator

import boto3
import pytest

from pausable_sfn.local.endpoint import Endpoint

# An SQS ListQueues call, as an SDK signs it (moto reads the service from the credential scope).
LIST_QUEUES = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host",
}


def ignoring_the_body(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"ignored {environ['PATH_INFO']}".encode()]


def echoing_the_body(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"echo " + body]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint()
    endpoint.mount("/ignore/", ignoring_the_body)
    endpoint.mount("/echo/", echoing_the_body)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


def connect(endpoint: Endpoint) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)


def answer(connection: http.client.HTTPConnection) -> tuple[int, str | None, bytes]:
    response = connection.getresponse()
    return response.status, response.getheader("Connection"), response.read()


def test_one_connection_carries_call_after_call(endpoint):
    connection = connect(endpoint)
    answers = []
    sockets = []
    for _ in range(3):
        connection.request("POST", "/", body="Action=ListQueues", headers=LIST_QUEUES)
        answers.append(answer(connection))
        sockets.append(connection.sock)

    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert all(b"ListQueuesResult" in body for _, _, body in answers)
    assert all(said is None for _, said, _ in answers)  # no "Connection: close"
    assert sockets[0] is not None
    assert all(each is sockets[0] for each in sockets)  # http.client reopens a closed one


def test_a_body_the_application_leaves_unread_is_not_taken_for_the_next_request(endpoint):
    connection = connect(endpoint)
    smuggled = b"GET /echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

    connection.request("POST", "/ignore/first", body=smuggled)
    first = answer(connection)
    connection.request("GET", "/ignore/second")
    second = answer(connection)

    assert first[2] == b"ignored /ignore/first"
    assert second[2] == b"ignored /ignore/second"


def test_a_chunked_body_is_read_whole_and_then_the_connection_closes(endpoint):
    connection = connect(endpoint)
    connection.request("POST", "/echo/", body=iter([b"one ", b"two"]), encode_chunked=True)

    status, said, body = answer(connection)

    assert (status, body) == (200, b"echo one two")
    assert said == "close"  # its end was known only once it was read


def test_a_client_that_asks_to_close_is_heard(endpoint):
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=30) as raw:
        raw.sendall(b"GET /ignore/once HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):  # ends once the server closes
            received += chunk

    assert received.startswith(b"HTTP/1.1 200")
    assert b"ignored /ignore/once" in received


def test_stopping_the_endpoint_closes_the_connections_its_clients_keep_open():
    endpoint = Endpoint()
    endpoint.start()
    connection = connect(endpoint)
    try:
        connection.request("POST", "/", body="Action=ListQueues", headers=LIST_QUEUES)
        assert answer(connection)[0] == 200
        assert connection.sock is not None  # kept open

        endpoint.stop()

        assert connection.sock.recv(65536) == b""  # closed: no later request reaches what was stopped
    finally:
        connection.close()


def test_api_calls_to_several_services_on_one_endpoint_each_reach_their_own(endpoint):
    def client(service: str):
        credentials = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
        return boto3.client(service, endpoint_url=endpoint.url, region_name="eu-west-1", **credentials)

    sqs, sns, sfn = client("sqs"), client("sns"), client("stepfunctions")
    for turn in range(2):  # the second turn finds each service as the first did
        queue = sqs.create_queue(QueueName=f"fast-{turn}")["QueueUrl"]
        topic = sns.create_topic(Name=f"fast-{turn}")["TopicArn"]
        machine = sfn.create_state_machine(
            name=f"fast-{turn}",
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/fast",
        )["stateMachineArn"]

        assert queue in sqs.list_queues()["QueueUrls"]
        assert topic in [each["TopicArn"] for each in sns.list_topics()["Topics"]]
        assert machine in [each["stateMachineArn"] for each in sfn.list_state_machines()["stateMachines"]]
        assert ":eu-west-1:" in topic
        assert ":eu-west-1:" in machine

"""The embedded AWS's HTTP endpoint: bound before it is announced, with a simulated network delay."""

import socket
import time
import urllib.request

import boto3
import pytest

from pausable_sfn.local.endpoint import Endpoint, PortInUseError


def sqs(endpoint: Endpoint):
    return boto3.client(
        "sqs", endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_port_zero_picks_a_free_port_and_serves_aws_apis_there():
    endpoint = Endpoint(port=0)
    endpoint.start()
    try:
        assert endpoint.port > 0
        assert sqs(endpoint).list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        endpoint.stop()


def test_a_port_in_use_is_refused_at_once_with_its_number():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is in use"):
            Endpoint(port=port).start()


def test_with_latency_each_answer_comes_at_least_that_much_later():
    endpoint = Endpoint(latency_ms=300)
    endpoint.start()
    try:
        client = sqs(endpoint)
        client.list_queues()  # the connection is open: what follows is one answer's time
        began = time.monotonic()
        client.list_queues()
        elapsed = time.monotonic() - began
    finally:
        endpoint.stop()

    assert elapsed >= 0.3


def test_a_mounted_application_serves_its_paths_and_the_latency_applies_to_it_too():
    def page(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"page {environ['PATH_INFO']}".encode()]

    endpoint = Endpoint(latency_ms=300)
    endpoint.mount("/pages/", page)
    endpoint.start()
    try:
        with urllib.request.urlopen(f"{endpoint.url}/pages/one") as first:
            assert first.read() == b"page /pages/one"
        began = time.monotonic()
        with urllib.request.urlopen(f"{endpoint.url}/pages/two") as second:
            answer = second.read()
        elapsed = time.monotonic() - began
        api = sqs(endpoint).list_queues()  # every other path is still an AWS API
    finally:
        endpoint.stop()

    assert answer == b"page /pages/two"
    assert elapsed >= 0.3
    assert api["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_port_just_released_by_a_stopped_endpoint_can_be_taken_again():
    first = Endpoint()
    first.start()
    port = first.port
    sqs(first).list_queues()  # a connection the server closes: the port lingers in TIME_WAIT
    first.stop()

    again = Endpoint(port=port)
    again.start()
    try:
        assert sqs(again).list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        again.stop()

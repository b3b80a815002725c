from collections.abc import Iterator

import pytest
from handlers import clients

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAA" + "x" * 600  # long and opaque, like the tokens Step Functions issues


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test gets its own clients, so a moto mock or stub never leaks into the next test."""
    clients.client.cache_clear()
    yield
    clients.client.cache_clear()

"""The console as the WSGI app it is, over moto in this process, with its AWS calls counted."""

import html
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
from werkzeug.test import Client

from pausable_sfn.console.app import ConsoleApp

ROLE = "arn:aws:iam::123456789012:role/console-test"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
MOUNT = "/console/"  # where `local serve` mounts it; the pages' links are relative to it


class Console:
    """The console app over one shared Step Functions client whose calls are counted."""

    def __init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name="us-east-1")
        self.calls: Counter[str] = Counter()
        self.sfn.meta.events.register("before-call.sfn.*", self._count)
        self.client = Client(ConsoleApp(lambda service: self.sfn))

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def machine(self, name: str) -> str:
        arn: str = self.sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)["stateMachineArn"]
        return arn

    def start(self, machine: str, name: str) -> str:
        """Starts an execution in a millisecond of its own: Step Functions dates executions to the
        millisecond, so the order of two started in the same one is nobody's to promise."""
        arn: str = self.sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
        started = time.time_ns() // 1_000_000
        while time.time_ns() // 1_000_000 == started:
            pass
        return arn

    def get(self, page: str) -> tuple[int, str]:
        """A page by its address relative to the console, as its links give it: "", "?status=…"."""
        self.calls.clear()
        answer = self.client.get(MOUNT + page)
        return answer.status_code, answer.get_data(as_text=True)


def names(page: str) -> list[str]:
    return re.findall(r'<a href="execution\?arn=[^"]+">([^<]+)</a>', page)


def older(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">Older</a>', page)
    return html.unescape(found.group(1)).removeprefix("./") if found else None


def every_page(console: Console, first: str = "") -> Iterator[tuple[str, Counter[str]]]:
    address: str | None = first
    while address is not None:
        status, page = console.get(address)
        assert status == 200, page
        yield page, Counter(console.calls)
        address = older(page)

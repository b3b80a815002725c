"""What the embedded AWS does to moto's EventBridge. The numbers are those of the one list in ../gaps.py.

39. moto delivers a matched event to a CloudWatch Logs group, an archive, an SQS queue or another
    bus, and raises NotImplementedError inside PutEvents for any other target, a Lambda function
    among them; it also delivers the events of a DISABLED rule. EventBridge invokes a Lambda
    target asynchronously, with the target's Input, InputPath or InputTransformer applied, and a
    disabled rule matches nothing ("Amazon EventBridge targets" and "Transforming target input",
    EventBridge user guide): `deliver_to_lambda_asynchronously` does so through
    events.AsyncInvoker, which keeps Lambda's retries and destinations. (moto's own input
    transformer writes a string value bare, outside its quotes, which makes the JSON invalid: a
    Lambda target's input is transformed here as EventBridge does.)
"""

import json
import re
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.events.models import Rule

if TYPE_CHECKING:
    from ..events import AsyncInvoker


def deliver_to_lambda_asynchronously(patches: ExitStack, async_invoker: "AsyncInvoker") -> None:
    """Gap 39."""
    original = Rule.send_to_targets

    def send_to_targets(rule: Rule, original_event: Any, transform_input: bool = True) -> None:
        if rule.state == "DISABLED" or not rule.event_pattern.matches_event(original_event):
            return
        functions = [target for target in rule.targets if ":lambda:" in target["Arn"]]
        others = [target for target in rule.targets if target not in functions]
        for target in functions:
            event = _target_input(target, original_event, rule) if transform_input else original_event
            async_invoker.submit(target["Arn"], event)
        if others:
            with mock.patch.object(rule, "targets", others):
                original(rule, original_event, transform_input)

    patches.enter_context(mock.patch.object(Rule, "send_to_targets", send_to_targets))


def _target_input(target: dict[str, Any], event: dict[str, Any], rule: Rule) -> Any:
    """What a target receives: its constant Input, the part of the event its InputPath names, the
    event its InputTransformer makes, or the whole event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return _at_path(event, target["InputPath"])
    if target.get("InputTransformer"):
        return _transformed(target["InputTransformer"], event, rule)
    return event


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _transformed(transformer: dict[str, Any], event: dict[str, Any], rule: Rule) -> Any:
    """The InputTemplate with its placeholders filled as EventBridge fills them ("Amazon
    EventBridge input transformation", EventBridge user guide): outside a JSON string a value is
    written as JSON (a string gets its quotes), inside one as its text; a template that is not
    JSON is sent as a string. moto writes every value as bare text, so that a string placed
    outside quotes makes the JSON invalid."""
    values: dict[str, Any] = {
        name: _at_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()
    }
    values |= {
        "aws.events.rule-name": rule.name,
        "aws.events.rule-arn": rule.arn,
        "aws.events.event": {key: value for key, value in event.items() if key != "detail"},
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event.get("ingestion-time", event.get("time")),
    }
    template = str(transformer.get("InputTemplate", ""))
    as_json = template.lstrip().startswith(("{", "["))  # a text template takes each value as its text
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(template):
        if match.group(1) not in values:
            continue
        value = values[match.group(1)]
        parts.append(template[last : match.start()])
        as_text = not as_json or _unescaped_quotes(template[: match.start()]) % 2 == 1
        parts.append(value if as_text and isinstance(value, str) else json.dumps(value))
        last = match.end()
    text = "".join(parts) + template[last:]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _unescaped_quotes(text: str) -> int:
    return len(re.findall(r'(?<!\\)"', text))


def _at_path(event: dict[str, Any], path: str) -> Any:
    """The value at a JSONPath of keys and indexes ($, $.detail, $.detail.items[0].id), as
    InputPath and InputPathsMap take it; None where there is none."""
    value: Any = event
    for key, index in _STEP.findall(path.removeprefix("$")):
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value

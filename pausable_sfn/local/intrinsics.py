"""Resolves the CloudFormation intrinsic functions a CDK template uses, against deployed values."""

import re
from collections.abc import Callable, Iterator
from typing import Any

NO_VALUE = object()  # what {"Ref": "AWS::NoValue"} resolves to: the property is dropped


class UnsupportedIntrinsicError(ValueError):
    pass


Ref = Callable[[str], Any]
GetAtt = Callable[[str, str], Any]

_SUB_VARIABLE = re.compile(r"\$\{([^!][^}]*)\}")


def references(value: Any) -> Iterator[str]:
    """The logical ids (and pseudo parameters) a template value refers to."""
    if isinstance(value, dict):
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref":
                yield argument
                return
            if key == "Fn::GetAtt":
                yield argument[0] if isinstance(argument, list) else argument.split(".", 1)[0]
                return
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for name in _SUB_VARIABLE.findall(text):
                    if name not in variables:
                        yield name.split(".", 1)[0]
                yield from references(variables)
                return
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def resolve(value: Any, ref: Ref, get_att: GetAtt) -> Any:
    if isinstance(value, list):
        resolved = [resolve(item, ref, get_att) for item in value]
        return [item for item in resolved if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(key, argument)] = value.items()
        if key == "Ref":
            return ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return get_att(logical_id, attribute)
        if key.startswith("Fn::"):
            return _function(key, resolve(argument, ref, get_att) if key != "Fn::Sub" else argument, ref, get_att)
    members = {key: resolve(item, ref, get_att) for key, item in value.items()}
    return {key: item for key, item in members.items() if item is not NO_VALUE}


def _function(name: str, argument: Any, ref: Ref, get_att: GetAtt) -> Any:
    if name == "Fn::Join":
        delimiter, items = argument
        return delimiter.join(str(item) for item in items)
    if name == "Fn::Select":
        index, items = argument
        return items[int(index)]
    if name == "Fn::Split":
        delimiter, text = argument
        return text.split(delimiter)
    if name == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = resolve(variables, ref, get_att)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(get_att(logical_id, attribute))
            return str(ref(name))

        return _SUB_VARIABLE.sub(substitute, text).replace("${!", "${")
    raise UnsupportedIntrinsicError(f"the intrinsic function {name} is not supported by the embedded AWS")

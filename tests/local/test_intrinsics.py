"""The intrinsic functions of a CDK template, resolved against deployed values."""

import pytest

from pausable_sfn.local.intrinsics import UnsupportedIntrinsicError, references, resolve

VALUES = {"Queue": "https://queue.url", "AWS::Region": "eu-west-1", "AWS::NoValue": object()}
ATTRIBUTES = {("Queue", "Arn"): "arn:aws:sqs:eu-west-1:1:q", ("Fn", "Arn"): "arn:aws:lambda:eu-west-1:1:function:f"}


def ref(name):
    return VALUES[name]


def get_att(logical_id, attribute):
    return ATTRIBUTES[(logical_id, attribute)]


@pytest.mark.parametrize(
    ("template_value", "expected"),
    [
        ({"Ref": "Queue"}, "https://queue.url"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:1:q"),
        ({"Fn::GetAtt": "Queue.Arn"}, "arn:aws:sqs:eu-west-1:1:q"),
        ({"Fn::Join": ["", [{"Fn::GetAtt": ["Fn", "Arn"]}, ":*"]]}, "arn:aws:lambda:eu-west-1:1:function:f:*"),
        (
            {"Fn::Sub": "q in ${AWS::Region} at ${Queue} (${Queue.Arn}) ${!Literal}"},
            "q in eu-west-1 at https://queue.url (arn:aws:sqs:eu-west-1:1:q) ${Literal}",
        ),
        ({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "AWS::Region"}}]}, "eu-west-1-x"),
        ({"Fn::Select": [1, {"Fn::Split": [":", {"Fn::GetAtt": ["Queue", "Arn"]}]}]}, "aws"),
        (
            {"a": [{"Ref": "Queue"}, 3], "b": {"c": {"Ref": "AWS::Region"}}},
            {"a": ["https://queue.url", 3], "b": {"c": "eu-west-1"}},
        ),
    ],
)
def test_resolves(template_value, expected):
    assert resolve(template_value, ref, get_att) == expected


def test_no_value_drops_the_property():
    from pausable_sfn.local.intrinsics import NO_VALUE

    assert resolve({"Keep": 1, "Drop": {"Ref": "AWS::NoValue"}}, lambda name: NO_VALUE, get_att) == {"Keep": 1}


def test_an_unknown_function_is_named():
    with pytest.raises(UnsupportedIntrinsicError, match="Fn::GetAZs"):
        resolve({"Fn::GetAZs": ""}, ref, get_att)


def test_references_finds_every_logical_id_a_value_needs():
    value = {
        "A": {"Ref": "Queue"},
        "B": [{"Fn::GetAtt": ["Fn", "Arn"]}],
        "C": {"Fn::Sub": "${Topic.TopicName}-${Local}", "ignored": 1},
        "D": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Role"}}]},
    }

    assert set(references(value)) >= {"Queue", "Fn", "Role"}
    assert "Local" not in set(references(value["D"]))

"""Task tokens in what a test reads: usable as they are, never shown.

A test may need a paused task's token as the receiver got it (to call its own callback code), but
whatever pytest prints of a failing assertion goes to CI logs, and a token is a credential. In a
payload the token stays a string equal to itself whose repr is its fingerprint; in the history
(where it sits inside a JSON text) it is replaced by its fingerprint.
"""

from collections.abc import Iterable
from typing import Any

from ..contracts import fingerprint


class MaskedToken(str):
    """A task token: equal to it, sent as it (json.dumps writes the token), shown as its fingerprint."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<task token {fingerprint(self)}>"


def keep_unshown(value: Any, token: str) -> Any:
    """`value` with each string equal to `token` made a MaskedToken."""
    if isinstance(value, str):
        return MaskedToken(value) if value == token else value
    if isinstance(value, dict):
        return {key: keep_unshown(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [keep_unshown(item, token) for item in value]
    return value


def fingerprinted(value: Any, tokens: Iterable[str]) -> Any:
    """`value` with every occurrence of each token, inside any string, replaced by its fingerprint."""
    known = [token for token in tokens if token]
    if not known:
        return value
    if isinstance(value, str):
        for token in known:
            value = value.replace(token, fingerprint(token))
        return value
    if isinstance(value, dict):
        return {key: fingerprinted(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [fingerprinted(item, known) for item in value]
    return value

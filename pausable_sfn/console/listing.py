"""The executions of several state machines, newest first, one page at a time.

ListExecutions pages each state machine's executions newest first; the console merges them. The
link to the next page carries, for every state machine that still has older executions, where its
listing goes on: the ListExecutions token of the page that holds its next execution, and the last
execution already shown from that page. The server keeps nothing between pages, and a page costs
at most two ListExecutions calls a state machine, however many executions there are.

An execution started while someone pages is never skipped; the next page starts after the last
one shown, wherever new executions have pushed it, as long as it is still on the page its token
names (Step Functions' tokens name a position, not an offset).
"""

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

Row = dict[str, Any]


class DamagedCursorError(ValueError):
    """A page link that no page of this console wrote, or one Step Functions no longer honours."""


@dataclass(frozen=True)
class Position:
    token: str | None  # the ListExecutions page holding the next execution; None: the newest page
    after: str | None  # the last execution shown from that page; None: none of it was shown


Cursor = dict[str, Position]  # state machine ARN → where its listing goes on


def encode(cursor: Cursor) -> str:
    plain = json.dumps({machine: [p.token, p.after] for machine, p in cursor.items()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=")


def decode(text: str) -> Cursor:
    try:
        plain = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        cursor = {machine: Position(token, after) for machine, (token, after) in plain.items()}
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError, ValueError):
        raise DamagedCursorError("this link to older executions is damaged") from None
    if not cursor or not all(
        isinstance(machine, str) and all(isinstance(v, str | None) for v in (p.token, p.after))
        for machine, p in cursor.items()
    ):
        raise DamagedCursorError("this link to older executions is damaged")
    return cursor


class _Listing:
    """One state machine's executions from a position on, each ListExecutions page fetched when needed."""

    def __init__(self, sfn: Any, machine: str, position: Position, *, page_size: int, status: str | None) -> None:
        self._sfn, self._machine, self._page_size, self._status = sfn, machine, page_size, status
        self._load(position.token)
        arns = [row["executionArn"] for row in self._rows]
        # Not on its page any more: that page starts again, so nothing is skipped.
        self._index = arns.index(position.after) + 1 if position.after in arns else 0
        self._last = position.after if self._index else None

    def _load(self, token: str | None) -> None:
        options: dict[str, Any] = {"maxResults": self._page_size}
        if token:
            options["nextToken"] = token
        if self._status:
            options["statusFilter"] = self._status
        try:
            answer = self._sfn.list_executions(stateMachineArn=self._machine, **options)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "InvalidToken":
                raise DamagedCursorError("this link to older executions has expired") from None
            if code != "StateMachineDoesNotExist":  # deleted since the last page: it has nothing more
                raise
            answer = {"executions": []}
        self._token, self._rows, self._index, self._next = token, answer["executions"], 0, answer.get("nextToken")

    def head(self) -> Row | None:
        while self._index >= len(self._rows):
            if not self._next:
                return None
            self._load(self._next)
            self._last = None
        row: Row = self._rows[self._index]
        return row

    def take(self) -> Row:
        row = self.head()
        assert row is not None, "take() after head() said there is none"
        self._index += 1
        self._last = row["executionArn"]
        return row

    def position(self) -> Position | None:
        """Where this listing goes on, or None when it has no older execution (as far as the pages
        read say: a page read to its end goes on at the next one, fetched only by the next page)."""
        if self._index < len(self._rows):
            return Position(self._token, self._last)
        return Position(self._next, None) if self._next else None


def newest(
    sfn: Any, machines: Iterable[str], cursor: Cursor | None, *, page_size: int, status: str | None
) -> tuple[list[Row], Cursor]:
    """One page of executions, newest first, and the cursor of the next page (empty: there is none).
    With a cursor, only the state machines it names are read: the others had nothing older."""
    starts = cursor if cursor is not None else {machine: Position(None, None) for machine in machines}
    listings = [
        _Listing(sfn, machine, position, page_size=page_size, status=status) for machine, position in starts.items()
    ]
    rows: list[Row] = []
    while len(rows) < page_size:
        heads = [(head, listing) for listing in listings if (head := listing.head()) is not None]
        if not heads:
            break
        _, chosen = max(heads, key=lambda pair: (pair[0]["startDate"], pair[0]["executionArn"]))
        rows.append(chosen.take())
    following = {
        machine: position for machine, listing in zip(starts, listings, strict=True) if (position := listing.position())
    }
    return rows, following

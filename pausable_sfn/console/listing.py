"""The executions of several state machines, newest first, one page at a time.

ListExecutions pages each state machine's executions newest first; the console merges them. The
link to the next page carries, for every state machine that still has older executions, where its
listing goes on: the ListExecutions token of the page to read first, and the start date of the
last execution shown with the names of those shown that started in that same millisecond. Reading
goes on after what was shown, by date: an execution started since, or one that left a status
filter, moves rows between ListExecutions pages but never makes one shown twice or skipped. A
token Step Functions no longer honours (expired, or naming an execution that left the filter) is
replaced by reading from the newest page again, by date as always.

The server keeps nothing between pages; the link is signed with a key of the console's, so that
it cannot carry a token the console did not receive. A page costs at most two ListExecutions calls
a state machine, however many executions there are (a replaced token costs more, once).
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

Row = dict[str, Any]
_SIGNATURE_BYTES = 16


class DamagedCursorError(ValueError):
    """A page link that this console did not write, or that was changed since."""


@dataclass(frozen=True)
class Position:
    token: str | None  # the ListExecutions page to read first; None: the newest
    shown_until: datetime | None  # the start date of the last execution shown; None: none was shown
    shown_then: tuple[str, ...] = ()  # the ARNs shown that started at exactly that date

    def shown(self, row: Row) -> bool:
        if self.shown_until is None:
            return False
        started = row["startDate"]
        return bool(
            started > self.shown_until or (started == self.shown_until and row["executionArn"] in self.shown_then)
        )


Cursor = dict[str, Position]  # state machine ARN → where its listing goes on


class CursorCodec:
    """Writes and reads the `page` argument of the list's links."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, cursor: Cursor) -> str:
        plain = {
            machine: [p.token, p.shown_until.isoformat() if p.shown_until else None, list(p.shown_then)]
            for machine, p in cursor.items()
        }
        payload = json.dumps(plain, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._sign(payload) + payload).decode().rstrip("=")

    def decode(self, text: str) -> Cursor:
        try:
            signed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise DamagedCursorError("this link to older executions is damaged") from None
        signature, payload = signed[:_SIGNATURE_BYTES], signed[_SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise DamagedCursorError(
                "this link to older executions was not written by this console (or not since it started)"
            )
        plain = json.loads(payload)  # signed by this console: it is what encode() wrote
        return {
            machine: Position(token, datetime.fromisoformat(until) if until else None, tuple(then))
            for machine, (token, until, then) in plain.items()
        }


class _Listing:
    """One state machine's executions after a position, each ListExecutions page fetched when needed."""

    def __init__(self, sfn: Any, machine: str, position: Position, *, page_size: int, status: str | None) -> None:
        self._sfn, self._machine, self._page_size, self._status = sfn, machine, page_size, status
        self._after = position
        self._load(position.token)

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
            if code == "InvalidToken" and token:  # expired, or it named a row that left the filter
                self._load(None)
                return
            if code != "StateMachineDoesNotExist":  # deleted since the last page: it has nothing more
                raise
            answer = {"executions": []}
        self._token, self._rows, self._index, self._next = token, answer["executions"], 0, answer.get("nextToken")

    def head(self) -> Row | None:
        while True:
            while self._index < len(self._rows) and self._after.shown(self._rows[self._index]):
                self._index += 1
            if self._index < len(self._rows):
                row: Row = self._rows[self._index]
                return row
            if not self._next:
                return None
            self._load(self._next)

    def take(self) -> Row:
        row = self.head()
        assert row is not None, "take() after head() said there is none"
        self._index += 1
        started = row["startDate"]
        same_moment = self._after.shown_then if started == self._after.shown_until else ()
        self._after = Position(self._token, started, (*same_moment, row["executionArn"]))
        return row

    def position(self) -> Position | None:
        """Where this listing goes on, or None when it has no older execution (as far as the pages
        read say: a page read to its end goes on at the next one, fetched only by the next page)."""
        if self._index < len(self._rows):
            return Position(self._token, self._after.shown_until, self._after.shown_then)
        if self._next:
            return Position(self._next, self._after.shown_until, self._after.shown_then)
        return None


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
        machine: position
        for machine, listing in zip(starts, listings, strict=True)
        if (position := listing.position()) is not None
    }
    return rows, following

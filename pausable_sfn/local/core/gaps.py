"""What the embedded AWS does to moto's core, shared by every service. The numbers are those of
the one list in ../gaps.py.

19. A page token (nextToken) that decodes to JSON other than an object crashes moto's paginator
    (AttributeError: a 500 over HTTP) where AWS answers InvalidToken (400), as moto itself does
    for a token that does not decode: `refuse_malformed_page_tokens` answers InvalidToken for
    both. Gap 14's own paging refuses a token it did not write the same way.
"""

from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.core.exceptions import InvalidToken as InvalidPageToken
from moto.utilities.paginator import Paginator


def refuse_malformed_page_tokens(patches: ExitStack) -> None:
    """Gap 19."""
    parse = Paginator._parse_starting_token

    def parse_starting_token(paginator: Paginator) -> dict[str, Any] | None:
        if paginator._starting_token is not None:
            try:
                decoded = paginator._token_decoder.decode(paginator._starting_token)
            except (ValueError, TypeError, UnicodeDecodeError):
                decoded = {}  # moto's own answer to a token that does not decode stays
            except AttributeError:  # JSON but not an object: botocore's decoder calls .pop on it
                decoded = None
            if not isinstance(decoded, dict):
                raise InvalidPageToken("Invalid token")
        return parse(paginator)

    patches.enter_context(mock.patch.object(Paginator, "_parse_starting_token", parse_starting_token))

"""The approval page's form, filled in and sent as a browser sends it: for the demo, scripts and tests.

GET the link, read the form (its anti-forgery value among its fields), then POST it back to the
same address with what a browser adds to a form it submits (Origin, Sec-Fetch-Site: same-origin,
application/x-www-form-urlencoded). Standard library only.
"""

import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

TIMEOUT_SECONDS = 30
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class PageAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    html: str


class _FormReader(HTMLParser):
    """The fields of the page's one form: its hidden and text inputs, and its buttons' names."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self.has_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.has_form = True
        elif tag == "input" and "name" in attributes:
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and "name" in attributes:
            self.buttons[attributes.get("value", "")] = attributes["name"]


class NoFormError(RuntimeError):
    """The page offers no form: its request was decided, its link expired or is not valid."""

    def __init__(self, answer: PageAnswer) -> None:
        super().__init__(f"the approval page offers no form (HTTP {answer.status})")
        self.answer = answer


def fetch(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> PageAnswer:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return PageAnswer(response.status, _lower(response.headers.items()), response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:  # a 4xx or 5xx page is an answer too
        return PageAnswer(error.code, _lower(error.headers.items()), error.read().decode("utf-8"))


def decide(url: str, decision: str, *, name: str, comment: str = "") -> PageAnswer:
    """Opens the link, then submits its form with `decision` (approve or reject), as a person would."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    page = fetch(url)
    reader = _FormReader()
    reader.feed(page.html)
    if not reader.has_form or decision not in reader.buttons:
        raise NoFormError(page)
    fields = {**reader.fields, "decidedBy": name, "comment": comment, reader.buttons[decision]: decision}
    parts = urlsplit(url)
    return fetch(
        url,
        method="POST",
        data=urlencode(fields).encode("utf-8"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"{parts.scheme}://{parts.netloc}",
            "Sec-Fetch-Site": "same-origin",
        },
    )


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}

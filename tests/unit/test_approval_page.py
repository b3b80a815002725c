"""ApprovalPageLambda: a link shows its request; only a POST of the page's own form decides, once."""

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from handlers import approval_page
from handlers.approval_page import Services, handler
from handlers.approval_records import WAITING, ApprovalRecords, Link
from handlers.contracts import APPROVAL_PATH, REJECTED_ERROR
from handlers.validation import InvalidEventError
from moto import mock_aws

from .approvals import approval_request, at, create_table, url_event
from .conftest import TOKEN

LINK_LIFETIME_MINUTES = 30


class FakeStepFunctions:
    """Step Functions as the page meets it: the calls it was sent, and an answer a test can set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error_code: str | None = None
        self.error: Exception | None = None
        self.status = "RUNNING"

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        self.calls.append((operation, arguments))
        if self.error is not None:
            raise self.error
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "refused"}}, operation)
        return {}

    def send_task_success(self, **arguments: Any) -> dict[str, Any]:
        return self._call("SendTaskSuccess", **arguments)

    def send_task_failure(self, **arguments: Any) -> dict[str, Any]:
        return self._call("SendTaskFailure", **arguments)

    def describe_execution(self, **arguments: Any) -> dict[str, Any]:
        return {"status": self.status}

    def decisions(self) -> list[tuple[str, dict[str, Any]]]:
        return [call for call in self.calls if call[0].startswith("SendTask")]


class Page:
    """The page's function, with its records in moto, at a moment a test chooses."""

    def __init__(self, records: ApprovalRecords, sfn: FakeStepFunctions, context: Any) -> None:
        self.records, self.sfn, self.context = records, sfn, context
        self.now = at(5)
        record, _ = records.open_request(approval_request())
        self.request_id = record.request_id
        self.link = records.issue_link(record, now=at(1), lifetime=None, issued_to="approval request")

    @property
    def path(self) -> str:
        return f"/{APPROVAL_PATH}{self.link.secret}"

    def services(self) -> Services:
        return Services(self.records, self.sfn, now=lambda: self.now)

    def get(self, path: str | None = None, **headers: str) -> dict[str, Any]:
        return handler(url_event("GET", path or self.path, headers=headers), self.context)

    def head(self, **headers: str) -> dict[str, Any]:
        return handler(url_event("HEAD", self.path, headers=headers), self.context)

    def post(self, form: dict[str, str], *, path: str | None = None, **headers: str) -> dict[str, Any]:
        return handler(url_event("POST", path or self.path, form=form, headers=headers), self.context)

    def form_key(self, link: Link | None = None) -> str:
        body = self.get(f"/{APPROVAL_PATH}{(link or self.link).secret}")["body"]
        return re.search(r'name="formKey" value="([^"]+)"', body).group(1)

    def decide(
        self, decision: str = "approve", name: str = "Alice", comment: str = "", form_key: str | None = None
    ) -> dict:
        """Submits the page's form, loaded now or (`form_key`) earlier."""
        form = {"formKey": form_key or self.form_key(), "decidedBy": name, "comment": comment, "decision": decision}
        return self.post(form)

    def status(self) -> str:
        return self.records.request(self.request_id).status


@pytest.fixture
def page(monkeypatch, lambda_context) -> Page:
    with mock_aws():
        opened = Page(create_table(), FakeStepFunctions(), lambda_context)
        monkeypatch.setattr(approval_page, "SERVICES", opened.services)
        yield opened


def test_the_link_shows_the_request_and_a_form_but_never_the_token(page):
    response = page.get()

    assert response["statusCode"] == 200
    body = response["body"]
    for shown in ("order-42", "Long job execution", "2026-11-26T08:00:00Z", "2026-11-26T09:00:00Z", "120.5"):
        assert shown in body
    assert "Approve" in body
    assert "Reject" in body
    assert TOKEN not in body
    assert TOKEN[:40] not in body
    assert page.sfn.decisions() == []


def test_every_answer_carries_the_security_headers(page):
    for response in (page.get(), page.get("/nothing-here"), page.head(), page.post({})):
        headers = {name.lower(): value for name, value in response["headers"].items()}
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "form-action 'self'" in csp
        assert "script-src" not in csp
        assert "unsafe-inline" not in csp
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["content-type"] == "text/html; charset=utf-8"


def test_the_page_has_no_script_and_nothing_from_elsewhere(page):
    body = page.get()["body"]

    assert "<script" not in body.lower()
    assert not re.search(r"(src|href)=", body), "the page loads no resource"
    assert re.search(r'<form method="post">', body), "the form posts to the page itself"


def test_head_and_get_decide_nothing_however_often_and_whoever_asks(page):
    scanners = ["Mozilla/5.0 (compatible; Safe Links)", "Slackbot-LinkExpanding 1.0", "Mimecast", "Proofpoint"]
    for agent in scanners * 3:
        assert page.head(**{"user-agent": agent})["statusCode"] == 200
        assert page.get(**{"user-agent": agent})["statusCode"] == 200

    assert page.head()["body"] == ""
    assert page.sfn.decisions() == []
    assert page.status() == WAITING


def decided_and_shown(page, response: dict) -> str:
    """After a decision the browser is sent back to the link (POST, then GET): what it then shows."""
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == page.link.secret  # relative: the link itself
    return page.get()["body"]


def test_approving_resumes_the_task_with_who_decided_and_records_it(page):
    response = page.decide("approve", name="Alice", comment="Looks right")

    shown = decided_and_shown(page, response)
    assert "Approved" in shown
    assert "Alice" in shown
    [(operation, arguments)] = page.sfn.decisions()
    assert operation == "SendTaskSuccess"
    assert arguments["taskToken"] == TOKEN
    assert json.loads(arguments["output"]) == {
        "approved": True,
        "decidedBy": "Alice",
        "comment": "Looks right",
        "decidedAt": "2026-11-26T08:05:00Z",
    }
    record = page.records.request(page.request_id)
    assert record.status == "approved"
    assert (record.decision.decided_by, record.decision.source_ip) == ("Alice", "203.0.113.7")
    assert record.task_token == "", "a decided request keeps no token"


def test_rejecting_fails_the_task_with_rejected_and_the_comment_as_cause(page):
    page.decide("reject", name="Bob", comment="Wrong amount")

    [(operation, arguments)] = page.sfn.decisions()
    assert operation == "SendTaskFailure"
    assert (arguments["error"], arguments["cause"]) == (REJECTED_ERROR, "Wrong amount")


def test_a_rejection_without_comment_names_who_rejected(page):
    page.decide("reject", name="Bob")

    [(_, arguments)] = page.sfn.decisions()
    assert arguments["cause"] == "Rejected by Bob."


def test_the_first_decision_wins_and_a_second_is_told_who_decided(page):
    alices_page, mallorys_page = page.form_key(), page.form_key()  # both opened the link
    page.decide("approve", name="Alice", form_key=alices_page)
    second = page.decide("reject", name="Mallory", form_key=mallorys_page)

    assert second["statusCode"] == 409
    assert "Alice" in second["body"]
    assert "Approved" in second["body"]
    assert len(page.sfn.decisions()) == 1
    assert page.records.request(page.request_id).decision.decided_by == "Alice"


def test_after_a_decision_the_link_shows_it_and_offers_no_form(page):
    page.decide("approve", name="Alice", comment="fine")

    body = page.get()["body"]
    assert "Approved" in body
    assert "Alice" in body
    assert "fine" in body
    assert "<form" not in body


def test_a_post_without_the_forms_anti_forgery_value_is_refused(page):
    for form in (
        {"decidedBy": "Eve", "decision": "approve"},
        {"formKey": "guess", "decidedBy": "Eve", "decision": "approve"},
    ):
        response = page.post(form)
        assert response["statusCode"] == 403

    assert page.sfn.decisions() == []
    assert page.status() == WAITING


def test_the_anti_forgery_value_is_the_links_own(page):
    other, _ = page.records.open_request(approval_request(taskToken=TOKEN + "other"))
    other_link = page.records.issue_link(other, now=at(1), lifetime=None, issued_to="operator")
    form = {"formKey": page.form_key(other_link), "decidedBy": "Eve", "decision": "approve"}

    assert page.post(form)["statusCode"] == 403
    assert page.sfn.decisions() == []


def test_a_post_from_another_site_is_refused(page):
    form_key = page.form_key()
    form = {"formKey": form_key, "decidedBy": "Eve", "decision": "approve"}

    assert page.post(form, **{"sec-fetch-site": "cross-site"})["statusCode"] == 403
    assert page.post(form, origin="https://evil.example")["statusCode"] == 403
    assert page.sfn.decisions() == []


def test_a_changed_link_opens_nothing(page):
    secret = page.link.secret
    changed = secret[:10] + ("A" if secret[10] != "A" else "B") + secret[11:]
    for path in (f"/{APPROVAL_PATH}{changed}", f"/{APPROVAL_PATH}{secret[:-1]}", f"/{APPROVAL_PATH}{secret}x", "/"):
        response = page.get(path)
        assert response["statusCode"] == 404
        assert "not valid" in response["body"]


def test_an_expired_link_says_so_and_decides_nothing(page):
    form_key = page.form_key()
    short = page.records.issue_link(
        page.records.request(page.request_id),
        now=at(1),
        lifetime=__import__("datetime").timedelta(minutes=2),
        issued_to="operator",
    )
    page.now = at(4)

    response = page.get(f"/{APPROVAL_PATH}{short.secret}")
    assert response["statusCode"] == 410
    assert "expired at 2026-11-26T08:03:00Z" in response["body"]
    form = {"formKey": short.record.form_key, "decidedBy": "Alice", "decision": "approve"}
    assert page.post(form, path=f"/{APPROVAL_PATH}{short.secret}")["statusCode"] == 410
    assert page.sfn.decisions() == []
    assert form_key  # the first link still works
    assert page.get()["statusCode"] == 200


def test_once_the_task_has_timed_out_the_page_says_so(page):
    page.now = at(61)

    response = page.get()
    assert response["statusCode"] == 410
    assert "timed out at 2026-11-26T09:00:00Z" in response["body"]


def test_a_missing_name_is_asked_for_and_what_was_typed_is_kept(page):
    form = {"formKey": page.form_key(), "decidedBy": "  ", "comment": "typed <b>this</b>", "decision": "approve"}

    response = page.post(form)
    assert response["statusCode"] == 400
    assert "Give your name" in response["body"]
    assert "typed &lt;b&gt;this&lt;/b&gt;" in response["body"]
    assert page.sfn.decisions() == []


def test_text_from_the_execution_is_escaped(page, lambda_context):
    record, _ = page.records.open_request(
        approval_request(taskToken=TOKEN + "x", summary={"note": "<script>alert(1)</script>"})
    )
    link = page.records.issue_link(record, now=at(1), lifetime=None, issued_to="operator")

    body = page.get(f"/{APPROVAL_PATH}{link.secret}")["body"]
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_task_that_no_longer_waits_closes_the_request_without_deciding(page):
    page.sfn.error_code = "TaskTimedOut"

    response = page.decide("approve")
    assert "Not applied" in decided_and_shown(page, response)
    record = page.records.request(page.request_id)
    assert record.status == "closed"
    assert record.decision.not_applied.startswith("TaskTimedOut")


def test_when_step_functions_fails_the_decision_is_withdrawn_so_it_can_be_made_again(page):
    page.sfn.error_code = "ThrottlingException"
    assert page.decide("approve")["statusCode"] == 503
    assert page.status() == WAITING

    assert page.records.request(page.request_id).task_token == TOKEN, "the token is back for the next try"
    page.sfn.error_code = None
    assert page.decide("approve")["statusCode"] == 303
    assert page.status() == "approved"


def test_a_refusal_no_retry_mends_withdraws_the_decision_and_says_to_tell_the_operator(page):
    page.sfn.error_code = "AccessDeniedException"

    response = page.decide("approve")

    assert response["statusCode"] == 500
    assert "Tell whoever runs this workflow" in response["body"]
    assert page.status() == WAITING


def test_a_decision_sent_but_not_confirmed_stays_recorded(page):
    page.sfn.error = ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com")

    response = page.decide("approve")

    assert response["statusCode"] == 202
    assert "not confirm" in response["body"]
    assert page.status() == "approved", "taking it back could undo a decision Step Functions applied"


@pytest.mark.parametrize(
    ("body", "base64_body"),
    [("&".join(f"f{number}=x" for number in range(11)), False), ("not base64 !", True), ("%ff%fe", False)],
    ids=["too many fields", "bad base64", "not UTF-8"],
)
def test_a_body_that_is_not_the_form_gets_a_page_not_a_crash(page, body, base64_body):
    event = url_event("POST", page.path, body=body, base64_body=base64_body, headers={"content-type": "text/plain"})
    if base64_body:
        event["body"] = body

    response = handler(event, page.context)

    assert response["statusCode"] in (400, 403)
    assert response["headers"]["Content-Security-Policy"]
    assert page.status() == WAITING


def test_an_ended_execution_offers_no_form(page):
    page.sfn.status = "ABORTED"

    response = page.get()
    assert response["statusCode"] == 409
    assert "aborted" in response["body"]
    assert "<form" not in response["body"]


def test_other_methods_are_not_allowed(page):
    response = handler(url_event("DELETE", page.path), page.context)

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, HEAD, POST"


def test_a_form_sent_base64_encoded_is_read(page):
    form = f"formKey={page.form_key()}&decidedBy=Alice&decision=approve"
    event = url_event(
        "POST", page.path, body=form, base64_body=True, headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert handler(event, page.context)["statusCode"] == 303
    assert page.status() == "approved"


@pytest.mark.parametrize(
    "event", [{"taskToken": TOKEN}, {"requestContext": "x"}, "text", {"requestContext": {"http": {}}}]
)
def test_an_event_that_is_not_a_function_url_request_is_refused_plainly(lambda_context, event):
    with pytest.raises(InvalidEventError, match="function URL request"):
        handler(event, lambda_context)


def test_a_trace_request_is_not_allowed(page):
    assert handler(url_event("TRACE", page.path), page.context)["statusCode"] == 405


def test_a_browsers_own_form_post_is_accepted_though_its_origin_is_null(page):
    # With Referrer-Policy: no-referrer, Chromium sends "Origin: null" for the page's own form.
    form = {"formKey": page.form_key(), "decidedBy": "Ana", "decision": "approve"}

    response = page.post(form, origin="null", **{"sec-fetch-site": "same-origin"})

    assert response["statusCode"] == 303
    assert page.status() == "approved"

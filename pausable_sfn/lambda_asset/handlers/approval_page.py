"""ApprovalPageLambda: the approval page, served by the function's URL.

GET /approval/<secret> shows the request of the link's task and a form; only a POST of that
form decides (Approve → SendTaskSuccess, Reject → SendTaskFailure with the error "Rejected").
Link scanners and chat unfurlers open links before people do, so GET and HEAD never change
anything, and a POST must carry the form's anti-forgery value, which only the page holds.
The first decision wins: the request's record is updated on the condition that it still waits.
"""

import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from . import approval_html as pages
from . import clients
from .approval_records import (
    APPROVED,
    REJECTED,
    WAITING,
    ApprovalRecords,
    Decision,
    LinkRecord,
    RequestRecord,
    iso,
)
from .contracts import (
    APPROVAL_PATH,
    MAX_COMMENT_LENGTH,
    MAX_DECIDER_NAME_LENGTH,
    REJECTED_ERROR,
    TASK_CLOSED,
    TASK_CLOSED_CODES,
    fingerprint,
)
from .validation import InvalidEventError

logger = Logger()
app = LambdaFunctionUrlResolver()
LINK_ROUTE = f"/{APPROVAL_PATH}<secret>"
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 10  # the page's form has five
# Step Functions' answers that no retry mends: the person is told to tell whoever runs the workflow.
PERMANENT_REFUSALS = frozenset({"AccessDeniedException", "InvalidToken", "InvalidOutput", "ValidationException"})
ALREADY_DECIDED = "This request was already decided: your decision was not taken."
# Sent with every answer: nothing from elsewhere, the link never leaves in a Referer, nothing
# kept in a cache, no MIME sniffing, no framing (clickjacking a button that decides).
SECURITY_HEADERS = {
    "Content-Security-Policy": pages.CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=63072000",
    "X-Robots-Tag": "noindex, nofollow",
}


@dataclass(frozen=True)
class Services:
    records: ApprovalRecords
    sfn: Any
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def _services() -> Services:
    return Services(
        ApprovalRecords(clients.client("dynamodb"), os.environ["APPROVAL_TABLE"]), clients.client("stepfunctions")
    )


SERVICES: Callable[[], Services] = _services  # replaced in tests


def answer(page: pages.Page, extra_headers: dict[str, str] | None = None) -> Response[str]:
    headers = {**SECURITY_HEADERS, **(extra_headers or {})}
    body = "" if app.current_event.http_method.upper() == "HEAD" else page.html()
    return Response(status_code=page.status, content_type="text/html; charset=utf-8", body=body, headers=headers)


def _opened(services: Services, secret: str) -> tuple[LinkRecord, RequestRecord] | None:
    """The link a secret names and its request, or None: a changed link, or expired records."""
    link = services.records.link(secret)
    record = services.records.request(link.request_id) if link else None
    return (link, record) if link is not None and record is not None else None


@app.route(LINK_ROUTE, method=["GET", "HEAD"])
def show(secret: str) -> Response[str]:
    services = SERVICES()
    now = services.now()
    opened = _opened(services, secret)
    if opened is None:
        return answer(pages.invalid_link_page())
    link, record = opened
    if record.status != WAITING:
        return answer(pages.decided_page(record))
    if link.expired(now):  # a link expires when its task times out, if not before
        return answer(pages.expired_page(record, link, now=now))
    ended = _ended(services.sfn, record)
    if ended:
        return answer(pages.ended_page(record, ended))
    return answer(pages.request_page(record, link, now=now))


@app.post(LINK_ROUTE)
def decide(secret: str) -> Response[str]:
    services = SERVICES()
    now = services.now()
    event = app.current_event
    if not _same_origin(event.headers):
        return answer(pages.message_page(403, "Refused", "A decision can only be sent from the approval page itself."))
    too_large = pages.message_page(413, "Too large", f"The form may hold at most {MAX_FORM_BYTES} bytes.")
    if len(event.get("body") or "") > MAX_FORM_BYTES * 2:  # base64 makes it a third longer: checked undecoded
        return answer(too_large)
    try:
        body = event.decoded_body or ""
        fields = {name: values[0] for name, values in parse_qs(body, max_num_fields=MAX_FORM_FIELDS).items() if values}
    except ValueError:  # not base64, not UTF-8, too many fields: not the page's form
        return answer(pages.message_page(400, "Not a form", "This request does not hold the approval page's form."))
    if len(body.encode("utf-8")) > MAX_FORM_BYTES:
        return answer(too_large)

    opened = _opened(services, secret)
    if opened is None:
        return answer(pages.invalid_link_page())
    link, record = opened
    if not hmac.compare_digest(fields.get("formKey", "").encode(), link.form_key.encode()):
        logger.warning("Decision refused: the form's anti-forgery value is missing or wrong")
        return answer(
            pages.message_page(
                403,
                "Refused",
                "This decision did not come from the approval page's form. Open the link, then use its buttons.",
            )
        )
    if record.status != WAITING:
        return answer(pages.decided_page(record, status=409, notice=ALREADY_DECIDED))
    if link.expired(now):
        return answer(pages.expired_page(record, link, now=now))

    problem = _form_problem(fields)
    if problem:
        return answer(
            pages.request_page(record, link, now=now, notice=problem, values=pages.form_values(fields), status=400)
        )

    http = event["requestContext"]["http"]
    decision = Decision(
        outcome=APPROVED if fields["decision"] == "approve" else REJECTED,
        decided_by=fields["decidedBy"].strip(),
        comment=fields.get("comment", "").strip(),
        decided_at=now,
        source_ip=str(http.get("sourceIp", "")),
        user_agent=str(http.get("userAgent") or "")[:256],
    )
    return _apply(services, record, link_secret_fingerprint=fingerprint(secret), decision=decision)


@app.route(LINK_ROUTE, method=["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"])
def other_method(secret: str) -> Response[str]:
    return answer(
        pages.message_page(405, "Method not allowed", "Open the link in a browser."),
        {"Allow": "GET, HEAD, POST"},
    )


@app.not_found
def not_found(error: Exception) -> Response[str]:
    return answer(pages.invalid_link_page())


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def failed(error: Exception) -> Response[str]:
    """Whatever went wrong still answers a page with the security headers, and decides nothing
    that was not decided: the error is logged (never the link or the token), the person told."""
    logger.exception("The approval page failed")
    return answer(
        pages.message_page(
            500, "Something went wrong", "Nothing was decided. Try again, or tell whoever runs this workflow."
        )
    )


def _apply(
    services: Services, record: RequestRecord, *, link_secret_fingerprint: str, decision: Decision
) -> Response[str]:
    log = {
        "task_token": fingerprint(record.task_token),
        "link": link_secret_fingerprint,
        "outcome": decision.outcome,
        "decided_by": decision.decided_by,
        "source_ip": decision.source_ip,
    }
    if not services.records.decide(record.request_id, decision):
        logger.info("Decision not taken: another one came first", extra=log)
        current = services.records.request(record.request_id) or record
        if current.decision is None:  # the other one was withdrawn meanwhile: the form again
            return answer(pages.message_page(409, "Try again", "Another decision was being made. Open the link again."))
        return answer(pages.decided_page(current, status=409, notice=ALREADY_DECIDED))
    try:
        if decision.outcome == APPROVED:
            services.sfn.send_task_success(taskToken=record.task_token, output=_approval_output(decision))
        else:
            cause = decision.comment or f"Rejected by {decision.decided_by}."
            services.sfn.send_task_failure(taskToken=record.task_token, error=REJECTED_ERROR, cause=cause)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in TASK_CLOSED_CODES:
            reason = f"{code}: {TASK_CLOSED}"
            services.records.close(record.request_id, reason)
            logger.warning(
                "Decision recorded but not applied: the task no longer waits", extra={**log, "reason": reason}
            )
            return _see_the_page()
        permanent = code in PERMANENT_REFUSALS
        return _withdraw(services, record, decision, log, f"{code}: {error}", permanent=permanent)
    except ReadTimeoutError as error:
        # Sent, and perhaps applied: it stays recorded (taking it back could undo an applied decision).
        logger.error(
            "Decision sent, not confirmed: Step Functions did not answer in time", extra={**log, "error": str(error)}
        )
        return answer(
            pages.message_page(
                202,
                "Sent, not confirmed",
                "Your decision was recorded and sent, but Step Functions did not confirm it in time. Open the "
                "link again in a minute: if the step still waits, ask whoever runs this workflow.",
            )
        )
    except BotoCoreError as error:  # not sent: refused connection, DNS, TLS
        return _withdraw(services, record, decision, log, str(error), permanent=False)
    logger.info("Decision applied", extra=log)
    return _see_the_page()


def _see_the_page() -> Response[str]:
    """After a decision, the browser is sent to the link's page (a GET), which shows it: a reload or
    a second click then only shows it again, and sends nothing. The Location is the link's own last
    segment, a relative reference to itself, wherever the function URL is served."""
    path = app.current_event.path
    return answer(
        pages.message_page(303, "Decided", "Your decision was applied."), {"Location": path.rsplit("/", 1)[-1]}
    )


def _withdraw(
    services: Services, record: RequestRecord, decision: Decision, log: dict[str, str], error: str, *, permanent: bool
) -> Response[str]:
    """Step Functions did not take the decision: it is taken back, so that it can be made again,
    rather than kept as a decision that nothing applied."""
    logger.error("Decision not applied; withdrawn", extra={**log, "error": error, "permanent": permanent})
    services.records.withdraw(record.request_id, decision, task_token=record.task_token)
    if permanent:
        return answer(
            pages.message_page(
                500,
                "Not applied",
                "Step Functions refused the decision, so nothing was decided. Tell whoever runs this workflow: "
                "the approval page may not resume this state machine.",
            )
        )
    return answer(
        pages.message_page(
            503, "Try again", "Step Functions could not be reached, so nothing was decided. Try again in a minute."
        )
    )


def _approval_output(decision: Decision) -> str:
    return json.dumps(
        {
            "approved": True,
            "decidedBy": decision.decided_by,
            "comment": decision.comment,
            "decidedAt": iso(decision.decided_at),
        }
    )


def _form_problem(fields: dict[str, str]) -> str | None:
    if fields.get("decision") not in ("approve", "reject"):
        return "Choose Approve or Reject."
    name = fields.get("decidedBy", "").strip()
    if not name:
        return "Give your name: it is recorded with the decision."
    if len(name) > MAX_DECIDER_NAME_LENGTH:
        return f"Your name may have at most {MAX_DECIDER_NAME_LENGTH} characters."
    if len(fields.get("comment", "").strip()) > MAX_COMMENT_LENGTH:
        return f"The comment may have at most {MAX_COMMENT_LENGTH} characters."
    return None


def _same_origin(headers: dict[str, str]) -> bool:
    """What browsers say of where a POST comes from, when they say it: a form of another site is
    refused before the form is read. Sec-Fetch-Site is the word of every current browser; Origin
    is read only without it, and "null" is let through then, as browsers send it for a form posted
    from a page with Referrer-Policy: no-referrer (this one). The form's anti-forgery value is
    what refuses the rest."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin, host = headers.get("origin"), headers.get("host")
    if origin is None or origin == "null" or host is None:
        return True
    return origin.split("://", 1)[-1] == host


def _ended(sfn: Any, record: RequestRecord) -> str | None:
    """The execution's status when it has ended (the page then offers no form); None while it runs,
    or when Step Functions cannot say (the POST will tell)."""
    try:
        status = sfn.describe_execution(executionArn=record.execution_id)["status"]
    except (ClientError, BotoCoreError) as error:
        logger.warning("Could not read the execution's status", extra={"error": str(error)})
        return None
    return None if status == "RUNNING" else str(status)


def _check_event(event: Any) -> None:
    context = event.get("requestContext") if isinstance(event, dict) else None
    http = context.get("http") if isinstance(context, dict) else None
    if (
        not isinstance(http, dict)
        or not isinstance(http.get("method"), str)
        or not isinstance(event.get("rawPath"), str)
    ):
        raise InvalidEventError("ApprovalPageLambda serves its function URL: the event must be a function URL request")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _check_event(event)
    return app.resolve(event, context)

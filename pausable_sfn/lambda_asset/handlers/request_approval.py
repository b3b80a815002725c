"""RequestApprovalLambda: asks a person to approve a paused task, and issues approval links.

Two events:
- from a task that waits for a person (an ApprovalRequest: the task token, the execution, the
  state, since when it waits and for how long, and a summary of what is asked): the request is
  recorded, and an approval request carrying a link to the approval page is published to the
  approval requests topic, which people subscribe their e-mail addresses to. A retried hand-off
  publishes nothing twice. The function answers no link: a task's invocation result is written
  into the execution's history.
- from an operator (a LinkRequest: {"action": "issueLink", "taskToken", "expiresInSeconds"?}): a
  fresh link to the same request, answered as {"url", "expiresAt", "executionId"}.
"""

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import clients
from .approval_records import CLOSED, WAITING, ApprovalRecords, Link, RequestRecord, iso
from .contracts import APPROVAL_PATH, ISSUE_LINK_ACTION, fingerprint
from .messages import ApprovalRequest, LinkRequest
from .validation import parse

logger = Logger()
SUBJECT_LIMIT = 100  # SNS: at most 100 printable ASCII characters, no line break
MAX_SUMMARY_IN_MESSAGE = 16 * 1024


# Lambda names an invocation's error after the exception's class, and the operator's CLI reads
# that name: each class is named as its contract (a unit test holds them equal).
class ApprovalNotRequested(LookupError):  # noqa: N818
    """No task asked a person with this token: it waits for a service, or it is not a task's."""


class ApprovalAlreadyDecided(RuntimeError):  # noqa: N818
    pass


class ApprovalTaskExpired(RuntimeError):  # noqa: N818
    pass


def link_url(page_url: str, link: Link) -> str:
    return f"{page_url.rstrip('/')}/{APPROVAL_PATH}{link.secret}"


def request_approval(
    request: ApprovalRequest,
    *,
    records: ApprovalRecords,
    sns: Any,
    topic_arn: str,
    page_url: str,
    lifetime: timedelta | None,
    now: datetime,
) -> dict[str, Any]:
    record, created = records.open_request(request)
    if not created and record.published:
        logger.info("Approval already requested for this task: nothing published again")
        return {"approvalRequested": True, "published": False}
    link = records.issue_link(record, now=now, lifetime=lifetime, issued_to="approval request")
    url = link_url(page_url, link)
    sns.publish(TopicArn=topic_arn, Subject=subject(record), Message=email_text(record, link, url))
    records.mark_published(record.request_id)
    logger.info("Approval requested", extra={"link_expires_at": iso(link.record.expires_at)})
    return {"approvalRequested": True, "published": True, "linkExpiresAt": iso(link.record.expires_at)}


def issue_link(request: LinkRequest, *, records: ApprovalRecords, page_url: str, now: datetime) -> dict[str, Any]:
    record = records.request_for_token(request.taskToken)
    if record is None:
        raise ApprovalNotRequested(
            "no approval was requested for this task: it waits for a service, not a person "
            "(or its approval records have expired)"
        )
    if record.status == CLOSED:
        raise ApprovalTaskExpired("the task had stopped waiting when a decision came: the request is closed")
    if record.status != WAITING:
        by = f" by {record.decision.decided_by}" if record.decision else ""
        raise ApprovalAlreadyDecided(f"the request was {record.status}{by}: no new link is needed")
    if now >= record.timeout_at:
        raise ApprovalTaskExpired(f"the task stopped waiting at {iso(record.timeout_at)}")
    lifetime = timedelta(seconds=request.expiresInSeconds) if request.expiresInSeconds else None
    link = records.issue_link(record, now=now, lifetime=lifetime, issued_to="operator")
    logger.info("Approval link issued to an operator", extra={"link_expires_at": iso(link.record.expires_at)})
    return {
        "url": link_url(page_url, link),
        "expiresAt": iso(link.record.expires_at),
        "executionId": record.execution_id,
    }


def subject(record: RequestRecord) -> str:
    text = f"Approval needed: {record.execution_name} waits at {record.state_name}"
    printable = "".join(char if " " <= char <= "~" else "?" for char in text)
    return printable if len(printable) <= SUBJECT_LIMIT else printable[: SUBJECT_LIMIT - 1] + "~"


def email_text(record: RequestRecord, link: Link, url: str) -> str:
    summary = json.dumps(record.summary, indent=2, sort_keys=True) if record.summary else "(none)"
    if len(summary) > MAX_SUMMARY_IN_MESSAGE:  # SNS takes 256 KiB; the page shows it whole
        summary = summary[:MAX_SUMMARY_IN_MESSAGE] + "\n... (cut here: the page shows all of it)"
    return "\n".join(
        [
            f"The execution {record.execution_name} waits for your decision at the step {record.state_name}.",
            "",
            f"Waiting since:   {iso(record.paused_at)}",
            f"Waits until:     {iso(record.timeout_at)} (then the step times out)",
            f"Link expires at: {iso(link.record.expires_at)}",
            "",
            "Open this link to see the request and approve or reject it:",
            url,
            "",
            "Opening the link decides nothing: only the Approve or Reject button on the page does.",
            "Anyone with this link can decide, once: do not forward it.",
            "",
            "What is asked:",
            summary,
            "",
            f"Execution: {record.execution_id}",
        ]
    )


def _settings() -> dict[str, Any]:
    lifetime = os.environ.get("LINK_LIFETIME_SECONDS")
    return {
        "page_url": os.environ["APPROVAL_PAGE_URL"],
        "lifetime": timedelta(seconds=int(lifetime)) if lifetime else None,
    }


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = ApprovalRecords(clients.client("dynamodb"), os.environ["APPROVAL_TABLE"])
    settings = _settings()
    now = datetime.now(UTC)
    if isinstance(event, dict) and "action" in event:
        link_request = parse(LinkRequest, event, what=f"{ISSUE_LINK_ACTION} request")
        logger.append_keys(task_token=fingerprint(link_request.taskToken))
        return issue_link(link_request, records=records, page_url=settings["page_url"], now=now)
    request = parse(ApprovalRequest, event, what="approval request")
    logger.set_correlation_id(request.executionId)
    logger.append_keys(task_token=fingerprint(request.taskToken))
    return request_approval(
        request,
        records=records,
        sns=clients.client("sns"),
        topic_arn=os.environ["APPROVAL_TOPIC_ARN"],
        now=now,
        **settings,
    )

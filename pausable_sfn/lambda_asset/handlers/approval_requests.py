"""Asking people: an approval request is recorded, then published with a link to the approval page.

Shared by RequestApprovalLambda (what a PausableTask with `approval=` invokes) and by any function
that asks a person itself (the demo's CallAsyncServiceLambda in manual mode): the same records,
the same message, one home. Where the table, the topic and the page are comes from the
environment that HumanApproval gives the functions it lets ask (`HumanApproval.let_ask`).
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from . import clients
from .approval_records import ApprovalRecords, Link, RequestRecord, iso
from .contracts import APPROVAL_PATH, fingerprint
from .messages import ApprovalRequest

logger = Logger()
SUBJECT_LIMIT = 100  # SNS: at most 100 printable ASCII characters, no line break
MAX_SUMMARY_IN_MESSAGE = 16 * 1024


@dataclass(frozen=True)
class Asking:
    """Where requests are recorded and published, and how long their links last."""

    records: ApprovalRecords
    sns: Any
    topic_arn: str
    page_url: str
    lifetime: timedelta | None

    @classmethod
    def from_environment(cls) -> "Asking":
        lifetime = os.environ.get("LINK_LIFETIME_SECONDS")
        return cls(
            records=ApprovalRecords(clients.client("dynamodb"), os.environ["APPROVAL_TABLE"]),
            sns=clients.client("sns"),
            topic_arn=os.environ["APPROVAL_TOPIC_ARN"],
            page_url=os.environ["APPROVAL_PAGE_URL"],
            lifetime=timedelta(seconds=int(lifetime)) if lifetime else None,
        )


def ask(request: ApprovalRequest, asking: Asking, *, now: datetime | None = None) -> dict[str, Any]:
    """Records the request and publishes it, once per task (a retried hand-off whose publish had
    failed publishes it then). The answer holds no link: a task's invocation result goes into
    the execution's history."""
    now = now or datetime.now(UTC)
    logger.append_keys(task_token=fingerprint(request.taskToken))
    record, created = asking.records.open_request(request)
    if not created and record.published:
        logger.info("Approval already requested for this task: nothing published again")
        return {"approvalRequested": True, "published": False}
    link = asking.records.issue_link(record, now=now, lifetime=asking.lifetime, issued_to="approval request")
    url = link_url(asking.page_url, link)
    asking.sns.publish(TopicArn=asking.topic_arn, Subject=subject(record), Message=email_text(record, link, url))
    asking.records.mark_published(record.request_id)
    logger.info("Approval requested", extra={"link_expires_at": iso(link.record.expires_at)})
    return {"approvalRequested": True, "published": True, "linkExpiresAt": iso(link.record.expires_at)}


def link_url(page_url: str, link: Link) -> str:
    return f"{page_url.rstrip('/')}/{APPROVAL_PATH}{link.secret}"


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

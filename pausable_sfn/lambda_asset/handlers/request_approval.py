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

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from .approval_records import CLOSED, WAITING, ApprovalRecords, iso
from .approval_requests import Asking, ask, link_url
from .contracts import ISSUE_LINK_ACTION, fingerprint
from .messages import ApprovalRequest, LinkRequest
from .validation import parse

logger = Logger()


# Lambda names an invocation's error after the exception's class, and the operator's CLI reads
# that name: each class is named as its contract (a unit test holds them equal).
class ApprovalNotRequested(LookupError):  # noqa: N818
    """No task asked a person with this token: it waits for a service, or it is not a task's."""


class ApprovalAlreadyDecided(RuntimeError):  # noqa: N818
    pass


class ApprovalTaskExpired(RuntimeError):  # noqa: N818
    pass


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


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    asking = Asking.from_environment()
    if isinstance(event, dict) and "action" in event:
        link_request = parse(LinkRequest, event, what=f"{ISSUE_LINK_ACTION} request")
        logger.append_keys(task_token=fingerprint(link_request.taskToken))
        return issue_link(link_request, records=asking.records, page_url=asking.page_url, now=datetime.now(UTC))
    request = parse(ApprovalRequest, event, what="approval request")
    logger.set_correlation_id(request.executionId)
    return ask(request, asking)

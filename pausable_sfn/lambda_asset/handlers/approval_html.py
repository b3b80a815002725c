"""The approval page's HTML: small, script-free, every value from the execution escaped.

Its one stylesheet is inline, allowed by its hash in the Content-Security-Policy, so the page
loads nothing from anywhere: no script, font or image, from no site.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from .approval_records import APPROVED, CLOSED, REJECTED, LinkRecord, RequestRecord, iso
from .contracts import MAX_COMMENT_LENGTH, MAX_DECIDER_NAME_LENGTH

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;
box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0 0 1rem}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
pre{background:#f4f5f7;padding:.75rem;border-radius:4px;overflow:auto;max-height:20rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #aaa;border-radius:4px}
.buttons{display:flex;gap:1rem;margin-top:1rem}
button{font:inherit;font-weight:600;padding:.5rem 1.5rem;border:0;border-radius:4px;color:#fff;cursor:pointer}
.approve{background:#1d7d36}.reject{background:#b3261e}
.notice{padding:.75rem 1rem;border-radius:4px;background:#fff4ce;margin:0 0 1rem}
.outcome-approved{background:#dff3e4}.outcome-rejected,.outcome-closed{background:#fbe3e1}
small{color:#555}
""".strip()
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    body: str

    def html(self) -> str:
        return (
            "<!doctype html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="robots" content="noindex,nofollow">'
            f"<title>{escape(self.title)}</title><style>{STYLE}</style></head>"
            f"<body><main>{self.body}</main></body></html>\n"
        )


def _since(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    return _span(seconds)


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part) or "less than a minute"


def _details(record: RequestRecord, rows: list[tuple[str, str]]) -> str:
    cells = [
        ("Execution", escape(record.execution_name)),
        ("Step", escape(record.state_name)),
        *rows,
    ]
    return "<dl>" + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in cells) + "</dl>"


def _summary(record: RequestRecord) -> str:
    if not record.summary:
        return ""
    text = json.dumps(record.summary, indent=2, sort_keys=True, ensure_ascii=False)
    return f"<h2>What is asked</h2><pre>{escape(text)}</pre>"


def request_page(
    record: RequestRecord,
    link: LinkRecord,
    *,
    now: datetime,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Page:
    """The page a link opens while its request waits: the request, and the form that decides."""
    values = values or {}
    rows = [
        ("Waiting since", f"{iso(record.paused_at)} <small>({_since(record.paused_at, now)})</small>"),
        ("Times out at", iso(record.timeout_at)),
        ("This link expires at", iso(link.expires_at)),
        ("State", "Waiting for a decision"),
    ]
    form = (
        '<form method="post">'
        f'<input type="hidden" name="formKey" value="{escape(link.form_key)}">'
        '<label for="decidedBy">Your name</label>'
        f'<input id="decidedBy" name="decidedBy" required maxlength="{MAX_DECIDER_NAME_LENGTH}" '
        f'autocomplete="name" value="{escape(values.get("decidedBy", ""))}">'
        '<label for="comment">Comment <small>(optional; a rejection gives it as the reason)</small></label>'
        f'<textarea id="comment" name="comment" rows="3" maxlength="{MAX_COMMENT_LENGTH}">'
        f"{escape(values.get('comment', ''))}</textarea>"
        '<div class="buttons">'
        '<button class="approve" type="submit" name="decision" value="approve">Approve</button>'
        '<button class="reject" type="submit" name="decision" value="reject">Reject</button>'
        "</div></form>"
    )
    body = (
        "<h1>Approve or reject</h1>"
        f"{_notice(notice)}"
        f"{_details(record, rows)}"
        f"{_summary(record)}"
        f"{form}"
        "<p><small>Opening this page decided nothing; only a button does. The first decision is final. "
        "Anyone with this link can decide: do not forward it.</small></p>"
    )
    return Page(status, "Approval needed", body)


def decided_page(record: RequestRecord, *, status: int = 200, notice: str | None = None) -> Page:
    decision = record.decision
    assert decision is not None  # a decided request holds its decision
    outcome = _outcome(record.status)
    rows = [
        ("Decision", escape(outcome)),
        ("Decided by", escape(decision.decided_by)),
        ("Decided at", iso(decision.decided_at)),
    ]
    if decision.comment:
        rows.append(("Comment", escape(decision.comment)))
    body = (
        f'<h1 class="outcome-{escape(record.status)}">{escape(outcome)}</h1>'
        f"{_notice(notice)}{_details(record, rows)}"
        "<p><small>This request is closed: nothing more can be decided from this link.</small></p>"
    )
    return Page(status, outcome, body)


def _notice(notice: str | None) -> str:
    return f'<p class="notice" role="alert">{escape(notice)}</p>' if notice else ""


def _outcome(status: str) -> str:
    if status == CLOSED:
        return "Not applied: the step had stopped waiting before the decision arrived"
    return {APPROVED: "Approved", REJECTED: "Rejected"}.get(status, status)


def expired_page(record: RequestRecord, link: LinkRecord, *, now: datetime) -> Page:
    if now >= record.timeout_at:
        text = f"The step timed out at {iso(record.timeout_at)}: there is nothing left to decide."
    else:
        text = (
            f"This link expired at {iso(link.expires_at)}. Nothing was decided. The step still waits until "
            f"{iso(record.timeout_at)}: ask whoever sent the link for a new one."
        )
    body = f"<h1>This link has expired</h1><p>{escape(text)}</p>{_details(record, [])}"
    return Page(410, "Link expired", body)


def ended_page(record: RequestRecord, execution_status: str) -> Page:
    text = (
        f"The execution is {execution_status.lower().replace('_', ' ')}: it no longer waits for a decision, "
        "and nothing can be decided from this link."
    )
    body = f"<h1>Nothing left to decide</h1><p>{escape(text)}</p>{_details(record, [])}"
    return Page(409, "Nothing left to decide", body)


def invalid_link_page() -> Page:
    body = (
        "<h1>This approval link is not valid</h1>"
        "<p>Check that the whole link was copied. A link that was changed, or whose request was deleted, "
        "opens nothing.</p>"
    )
    return Page(404, "Invalid link", body)


def message_page(status: int, title: str, text: str) -> Page:
    return Page(status, title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")


def form_values(fields: dict[str, Any]) -> dict[str, str]:
    """What the person typed, to show again with a notice when it cannot be accepted."""
    return {name: str(fields.get(name, "")) for name in ("decidedBy", "comment")}

"""Deployment settings, read from CDK context (`-c key=value` on the command line, or a "context" in cdk.json).

Every setting has a default that suits the demo; a bad value stops the synth with a message
that names the context key and what it accepts.
"""

from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..constructs.functions import POWERTOOLS_VERSION
from ..constructs.human_approval import DEFAULT_PAGE_CONCURRENCY
from ..contracts import MAX_TASK_WAIT_SECONDS
from .names import STACK_NAME

R = logs.RetentionDays
# The retention periods CloudWatch Logs accepts, by their number of days.
LOG_RETENTION = {
    1: R.ONE_DAY, 3: R.THREE_DAYS, 5: R.FIVE_DAYS, 7: R.ONE_WEEK, 14: R.TWO_WEEKS, 30: R.ONE_MONTH,
    60: R.TWO_MONTHS, 90: R.THREE_MONTHS, 120: R.FOUR_MONTHS, 150: R.FIVE_MONTHS, 180: R.SIX_MONTHS,
    365: R.ONE_YEAR, 400: R.THIRTEEN_MONTHS, 545: R.EIGHTEEN_MONTHS, 731: R.TWO_YEARS,
    1096: R.THREE_YEARS, 1827: R.FIVE_YEARS, 2192: R.SIX_YEARS, 2557: R.SEVEN_YEARS,
    2922: R.EIGHT_YEARS, 3288: R.NINE_YEARS, 3653: R.TEN_YEARS,
}  # fmt: skip


class SettingsError(ValueError):
    """A CDK context value is out of its range; the message names the key."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    long_job_timeout_seconds: int = Field(default=3600, ge=1, le=MAX_TASK_WAIT_SECONDS, alias="longJobTimeoutSeconds")
    manual_resume_timeout_seconds: int = Field(
        default=7 * 24 * 3600, ge=1, le=MAX_TASK_WAIT_SECONDS, alias="manualResumeTimeoutSeconds"
    )
    long_job_heartbeat_seconds: int | None = Field(default=None, ge=1, alias="longJobHeartbeatSeconds")
    powertools_version: str = Field(
        default=POWERTOOLS_VERSION, pattern=r"^(\d+\.\d+\.\d+|latest)$", alias="powertoolsVersion"
    )
    log_retention_days: int = Field(default=30, alias="logRetentionDays")
    # An approval link expires when its task times out, or sooner after this many seconds.
    approval_link_lifetime_seconds: int | None = Field(
        default=None, ge=60, le=MAX_TASK_WAIT_SECONDS, alias="approvalLinkLifetimeSeconds"
    )
    # The approval page's reserved concurrency; "none" reserves none (an account whose quota has none
    # to spare). Not 0: to Lambda, a reserved concurrency of 0 switches the function off.
    approval_page_concurrency: int | None = Field(
        default=DEFAULT_PAGE_CONCURRENCY, ge=1, le=1000, alias="approvalPageConcurrency"
    )

    @field_validator("approval_page_concurrency", mode="before")
    @classmethod
    def _none_reserves_none(cls, value: Any) -> Any:
        return None if value == "none" else value

    # Read by the app (cdk_app.py) to name the stack; declared here so that it is validated.
    stack_name: str = Field(default=STACK_NAME, pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$", alias="stackName")

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        heartbeat = self.long_job_heartbeat_seconds
        shortest = min(self.long_job_timeout_seconds, self.manual_resume_timeout_seconds)
        if heartbeat is not None and heartbeat >= shortest:
            raise ValueError(
                "longJobHeartbeatSeconds must be shorter than longJobTimeoutSeconds and manualResumeTimeoutSeconds"
            )
        if self.log_retention_days not in LOG_RETENTION:
            raise ValueError(f"logRetentionDays must be one of {', '.join(map(str, LOG_RETENTION))}")
        return self

    @property
    def log_retention(self) -> logs.RetentionDays:
        return LOG_RETENTION[self.log_retention_days]

    @classmethod
    def context_keys(cls) -> list[str]:
        return [field.alias for field in cls.model_fields.values() if field.alias]

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Settings":
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = []
            for detail in error.errors(include_url=False):
                key = ".".join(str(part) for part in detail["loc"]) or "context"
                problems.append(f"{key}: {detail['msg']}")
            raise SettingsError("invalid CDK context: " + "; ".join(problems)) from None

    @classmethod
    def from_context(cls, scope: Construct) -> "Settings":
        values = {}
        for key in cls.context_keys():
            value = scope.node.try_get_context(key)
            if value is not None:
                values[key] = value
        return cls.from_values(values)

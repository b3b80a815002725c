"""CDK context settings: defaults, accepted values, and what a bad value says."""

import pytest

from pausable_sfn.app.settings import Settings, SettingsError


def test_defaults_suit_the_demo():
    settings = Settings.from_values({})

    assert settings.long_job_timeout_seconds == 3600
    assert settings.long_job_heartbeat_seconds is None
    assert settings.log_retention_days == 30


def test_values_given_on_the_command_line_as_strings_are_read_as_numbers():
    settings = Settings.from_values({"longJobTimeoutSeconds": "90", "longJobHeartbeatSeconds": "15"})

    assert (settings.long_job_timeout_seconds, settings.long_job_heartbeat_seconds) == (90, 15)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"longJobTimeoutSeconds": 0}, "longJobTimeoutSeconds: Input should be greater than or equal to 1"),
        ({"longJobTimeoutSeconds": 31536001}, "longJobTimeoutSeconds: Input should be less than or equal to 31536000"),
        ({"longJobTimeoutSeconds": "soon"}, "longJobTimeoutSeconds: Input should be a valid integer"),
        ({"longJobTimeoutSeconds": 60, "longJobHeartbeatSeconds": 60}, "must be shorter than longJobTimeoutSeconds"),
        ({"logRetentionDays": 8}, "logRetentionDays must be one of 1, 3, 5, 7, 14, 30"),
        ({"powertoolsVersion": "3.x"}, "powertoolsVersion: String should match pattern"),
        ({"longJobTimeoutSecs": 60}, "longJobTimeoutSecs: Extra inputs are not permitted"),
        ({"approvalPageConcurrency": 0}, "approvalPageConcurrency: Input should be greater than or equal to 1"),
        (
            {"approvalLinkLifetimeSeconds": 30},
            "approvalLinkLifetimeSeconds: Input should be greater than or equal to 60",
        ),
    ],
)
def test_a_bad_value_names_its_key_and_what_is_accepted(values, message):
    with pytest.raises(SettingsError, match="invalid CDK context") as raised:
        Settings.from_values(values)

    assert message in str(raised.value)


def test_the_approval_page_may_reserve_no_concurrency():
    assert Settings.from_values({"approvalPageConcurrency": "none"}).approval_page_concurrency is None
    assert Settings.from_values({}).approval_page_concurrency == 10

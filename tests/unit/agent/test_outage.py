"""Failure logging stays bounded over long outages."""

from __future__ import annotations

import logging

import pytest

from hb_agent._errors import TrackerBusy, TrackerRejected, TrackerUnreachable
from hb_agent._outage import OutageLog

LOGGER = "hb_agent.test_outage"


@pytest.fixture
def outage() -> OutageLog:
    return OutageLog(logger=logging.getLogger(LOGGER))


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def refused() -> TrackerUnreachable:
    return TrackerUnreachable("POST x: ConnectError: refused", cause="ConnectError")


def test_a_day_long_outage_logs_a_few_hundred_lines(
    outage: OutageLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    attempts = 0
    now = 0.0
    while now < 86_400:  # one attempt every 3 s for a day
        outage.failure(now, refused())
        attempts += 1
        now += 3.0
    lines = messages(caplog)
    assert attempts == 28_800
    assert lines[0] == "heartbeat failed: POST x: ConnectError: refused; retrying with backoff"
    # First at 30 s, then doubling to one every 10 min: 5 ramp-up lines + ~144 more.
    assert 140 <= len(lines) <= 160
    assert lines[1].startswith("heartbeats still failing: 11 attempts in 30s")
    outage.success(now)
    assert messages(caplog)[-1].startswith("heartbeats resumed after 28800 failed attempts")


def test_a_new_cause_is_logged_at_once(outage: OutageLog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    outage.failure(0.0, refused())
    outage.failure(1.0, refused())
    outage.failure(2.0, TrackerBusy("POST x: HTTP 503: down", cause="HTTP 503"))
    outage.failure(3.0, TrackerBusy("POST x: HTTP 503: down", cause="HTTP 503"))
    assert len(messages(caplog)) == 2
    assert "HTTP 503" in messages(caplog)[1]


def test_rejections_are_logged_once_per_cause_until_a_success(
    outage: OutageLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)

    def rejected(code: int) -> TrackerRejected:
        return TrackerRejected(
            f"POST x: HTTP {code}: bad", cause=f"HTTP {code}: bad", status_code=code
        )

    for second in range(1000):
        outage.failure(float(second), rejected(400))
    outage.failure(1000.0, rejected(401))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "HTTP 400: bad" in errors[0].getMessage()
    outage.success(1001.0)
    outage.failure(1002.0, rejected(400))
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 3


def test_success_without_outage_is_silent(
    outage: OutageLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    for second in range(100):
        outage.success(float(second))
    assert messages(caplog) == []
    assert not outage.failing

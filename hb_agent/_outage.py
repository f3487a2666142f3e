"""What the agent says about failed heartbeats, and how often.

The agent runs for months; an outage of the tracker must not fill the journal. Rules:

* The first failure of an outage is logged at once (WARNING), as is each new kind of failure
  during it (at most :data:`MAX_CAUSES` kinds are remembered).
* After that, one summary per period; the period doubles from ``first_summary`` up to
  ``max_summary``, so a day-long outage costs a few hundred lines, not thirty thousand.
* A rejection (a 4xx: our request is wrong) is logged once per distinct cause (ERROR), with the
  tracker's explanation; it is logged again only after a success in between.
* The first success after failures is logged (INFO) with the outage's length and attempts.

Sans-IO in time: every method takes ``now`` (trio's clock), so tests drive it directly.
"""

from __future__ import annotations

import logging

from hbtd_server.core import plural

from ._errors import SendError

__all__ = ["MAX_CAUSES", "OutageLog"]

#: Distinct failure causes remembered per outage; beyond that, new ones wait for the summary.
MAX_CAUSES = 32


class OutageLog:
    """Rate-limited reporting of heartbeat failures.

    Args:
        logger: where to write.
        first_summary: seconds from the first failure to the first summary.
        max_summary: the longest time between summaries.
    """

    def __init__(
        self,
        *,
        logger: logging.Logger,
        first_summary: float = 30.0,
        max_summary: float = 600.0,
    ) -> None:
        self._log = logger
        self._first_summary = first_summary
        self._max_summary = max_summary
        self._since: float | None = None
        self._attempts = 0
        self._causes: set[str] = set()
        self._rejections: set[str] = set()
        self._next_summary = 0.0
        self._period = first_summary
        self._last_error = ""

    @property
    def failing(self) -> bool:
        """Whether the last attempt failed."""
        return self._since is not None

    def failure(self, now: float, error: SendError) -> None:
        """Record a failed attempt and log it if the rules say so.

        Args:
            now: the current time (seconds, any monotonic origin).
            error: what went wrong.
        """
        self._last_error = str(error)
        if self._since is None:
            self._since = now
            self._attempts = 0
            self._period = self._first_summary
            self._next_summary = now + self._period
        self._attempts += 1
        if not error.retryable:
            if error.cause not in self._rejections and len(self._rejections) < MAX_CAUSES:
                self._rejections.add(error.cause)
                self._log.error(
                    "the tracker rejected the heartbeat: %s; not retrying faster than the"
                    " interval, and not logging this again until a heartbeat succeeds",
                    error,
                )
            return
        if error.cause not in self._causes and len(self._causes) < MAX_CAUSES:
            self._causes.add(error.cause)
            self._log.warning("heartbeat failed: %s; retrying with backoff", error)
            return
        if now >= self._next_summary:
            self._log.warning(
                "heartbeats still failing: %s in %.0fs; last error: %s",
                plural(self._attempts, "attempt"),
                now - self._since,
                error,
            )
            self._period = min(self._period * 2, self._max_summary)
            self._next_summary = now + self._period

    def success(self, now: float) -> None:
        """Record a successful heartbeat; log the recovery if there was an outage.

        Args:
            now: the current time.
        """
        if self._since is not None:
            self._log.info(
                "heartbeats resumed after %s in %.1fs (last error: %s)",
                plural(self._attempts, "failed attempt"),
                now - self._since,
                self._last_error,
            )
        self._since = None
        self._causes.clear()
        self._rejections.clear()

"""Prometheus metrics of a running tracker: ``GET /hmi/v1/metrics``.

Theory of operation. The heartbeat hot path must stay lean, so nothing is counted on it for
metrics' sake: the engine already keeps ``heartbeats_accepted``, ``transitions_total``, the
state counts (O(1)), the HSM ledger and the PATCH outcomes, and a custom collector reads them
when Prometheus scrapes. Three histograms are fed as things happen, all off the hot path:
detection lateness (one observation per warning or death, from ``engine.listeners``), HSM
PATCH latency (one per PATCH attempt, from ``engine.books.health.patch_listeners``) and the
store's flushes (one per flush, from ``engine.store_health.flush_listeners``). A refused
heartbeat is counted by its typed reason (``core.Rejection``, decided where the heartbeat is
refused) in ``engine.heartbeats_rejected``, on the error path only.

Each app has its own ``CollectorRegistry``: nothing is registered globally, so several trackers
(tests, the simulator) can live in one process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..core import Kind, Rejection, Transition
from ..engine import Engine

__all__ = [
    "METRICS_CONTENT_TYPE",
    "PATCH_OUTCOMES",
    "Metrics",
    "TelemetryCounters",
]

#: The ``Content-Type`` of ``/metrics``: the classic text format 0.0.4, which every Prometheus
#: version reads (the metric names here need none of format 1.0.0's escaping).
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: ``outcome`` of one HSM PATCH attempt (see ``_hsm._patch_outcome``).
PATCH_OUTCOMES = ("delivered", "refused", "failed", "unreachable", "timeout")

# Detection lateness: normally milliseconds (deadline-driven detector); seconds mean a stalled
# event loop, minutes a silence-guard hold (held alerts count as late, which they are).
_LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
_PATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_FLUSH_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_LATE_KINDS = (Kind.WARNING, Kind.DEAD)
#: Store roles in which this replica runs detection and reports (``single``: the memory store).
_LEADING_ROLES = ("leader", "single")


def _version() -> str:
    try:
        return metadata.version("hbtd-py")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class TelemetryCounters(Protocol):
    """The telemetry publisher's counts, as ``/metrics`` reads them (``TelemetryPublisher``).

    Attributes:
        delivered: messages the bus acknowledged, since start.
        queued: messages held, waiting or handed over and not yet acknowledged.
        dropped: messages given up because the buffer overflowed, since start.
        discarded: messages thrown away because telemetry was turned off, since start.
    """

    @property
    def delivered(self) -> int: ...

    @property
    def queued(self) -> int: ...

    @property
    def dropped(self) -> int: ...

    @property
    def discarded(self) -> int: ...


class Metrics:
    """The tracker's metrics in a registry of their own.

    Creating it subscribes to the engine's transitions and PATCH outcomes.

    Args:
        engine: the engine to report on.
        telemetry: the telemetry publisher's counts; without it no telemetry metric is shown.
        process: also export the standard ``process_*`` and ``python_info`` metrics.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        telemetry: TelemetryCounters | None = None,
        process: bool = True,
    ) -> None:
        self.engine = engine
        self.telemetry = telemetry
        self.registry = CollectorRegistry()
        lateness = Histogram(
            "hbtd_detection_lateness_seconds",
            "How long after its deadline (last heartbeat + Warntime or Errtime) a warning or "
            "death was reported.",
            ["kind"],
            buckets=_LATENESS_BUCKETS,
            registry=self.registry,
        )
        # Started and restarted are reported in the heartbeat that causes them: never late.
        self._lateness = {kind: lateness.labels(kind.name.lower()) for kind in _LATE_KINDS}
        self._patch_seconds = Histogram(
            "hbtd_hsm_patch_duration_seconds",
            "Duration of one HSM BulkStateData PATCH attempt, whatever its outcome.",
            buckets=_PATCH_BUCKETS,
            registry=self.registry,
        )
        self._flush_seconds: Histogram | None = None
        self._flush_errors: Counter | None = None
        self.registry.register(_EngineCollector(self))
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        engine.listeners.append(self._on_transitions)
        engine.books.health.patch_listeners.append(self._on_patch)
        engine.store_health.flush_listeners.append(self._on_flush)

    def observe_store_flush(self, seconds: float, *, ok: bool) -> None:
        """One store flush took ``seconds`` and succeeded or failed (the store reports each
        through ``StoreHealth.observe_flush``).

        ``hbtd_store_flush_duration_seconds`` and ``hbtd_store_flush_errors_total`` appear
        with the first flush, so a tracker whose store never flushes shows neither.
        """
        if self._flush_seconds is None or self._flush_errors is None:
            self._flush_seconds = Histogram(
                "hbtd_store_flush_duration_seconds",
                "Duration of one write-behind flush of changed records to the store.",
                buckets=_FLUSH_BUCKETS,
                registry=self.registry,
            )
            self._flush_errors = Counter(
                "hbtd_store_flush_errors",
                "Store flushes that failed (their changes are kept and written later).",
                registry=self.registry,
            )
        self._flush_seconds.observe(seconds)
        if not ok:
            self._flush_errors.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric, as of now."""
        return generate_latest(self.registry)

    def _on_transitions(self, transitions: Sequence[Transition]) -> None:
        lateness = self._lateness
        for transition in transitions:
            histogram = lateness.get(transition.kind)
            if histogram is not None:
                histogram.observe(transition.at - transition.due)

    def _on_patch(self, outcome: str, seconds: float) -> None:
        self._patch_seconds.observe(seconds)

    def _on_flush(self, seconds: float, ok: bool) -> None:
        self.observe_store_flush(seconds, ok=ok)


class _EngineCollector(Collector):
    # Reads the engine at scrape time: the values cost nothing between scrapes.

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._build_info = GaugeMetricFamily(
            "hbtd_build_info", "Always 1; the running hbtd's version.", labels=["version"]
        )
        self._build_info.add_metric([_version()], 1)

    def collect(self) -> Iterator[Metric]:
        engine = self._metrics.engine
        yield self._build_info
        yield _counter(
            "hbtd_heartbeats_accepted",
            "Heartbeats accepted (valid, from any component).",
            engine.heartbeats_accepted,
        )
        rejected = CounterMetricFamily(
            "hbtd_heartbeats_rejected", "Heartbeats refused, by reason.", labels=["reason"]
        )
        # Every reason, zeros included: the label set is the enum's, never client text.
        for reason in Rejection:
            rejected.add_metric([reason.value], engine.heartbeats_rejected[reason])
        yield rejected

        components = GaugeMetricFamily(
            "hbtd_components", "Tracked components per heartbeat state.", labels=["state"]
        )
        for state, count in engine.state_counts().items():
            components.add_metric([state.value], count)
        # Dead components are dropped from tracking: they show in hbtd_transitions_total only.
        yield components

        transitions = CounterMetricFamily(
            "hbtd_transitions",
            "Transitions reported (to HSM and telemetry), by kind.",
            labels=["kind"],
        )
        for kind in Kind:
            transitions.add_metric([kind.name.lower()], engine.transitions_total.get(kind, 0))
        yield transitions

        patches = CounterMetricFamily(
            "hbtd_hsm_patches",
            "HSM BulkStateData PATCH attempts, by outcome (retries count separately).",
            labels=["outcome"],
        )
        for outcome in PATCH_OUTCOMES:
            patches.add_metric([outcome], engine.books.health.patch_outcomes.get(outcome, 0))
        yield patches
        yield _gauge(
            "hbtd_hsm_pending_changes",
            "Components whose latest state HSM has not acknowledged yet (in flight included).",
            engine.books.pending_count,
        )
        refused, age = engine.books.refusal()
        yield _gauge(
            "hbtd_hsm_refused_changes",
            "Components whose wanted state HSM refused (a 4xx) and has not accepted since; "
            "they are held and retried with backoff, never dropped.",
            refused,
        )
        yield _gauge(
            "hbtd_hsm_refused_oldest_seconds",
            "Seconds since the oldest refusal still unresolved began (0 when none).",
            age or 0.0,
        )
        yield _gauge(
            "hbtd_hsm_ready",
            "1 while HSM answers /service/ready with 200 and Nosm is off, else 0.",
            1 if engine.books.health.ready is True and not engine.params.nosm else 0,
        )

        yield _gauge(
            "hbtd_leader",
            "1 while this replica runs detection and reports to HSM and telemetry (the store's "
            "leader, or the only tracker on the memory store), else 0.",
            1 if engine.store_health.role in _LEADING_ROLES else 0,
        )
        reconcile = engine.books.reconcile_health
        corrections = CounterMetricFamily(
            "hbtd_hsm_reconcile_corrections",
            "Changes wanted because HSM, read back, differed from the heartbeats (what hbtd "
            "owns only), by kind sent.",
            labels=["kind"],
        )
        for kind in (Kind.RESTARTED, Kind.WARNING, Kind.DEAD):
            name = kind.name.lower()
            corrections.add_metric([name], reconcile.corrections.get(name, 0))
        yield corrections
        rounds = CounterMetricFamily(
            "hbtd_hsm_reconcile_rounds",
            "Reconciliation rounds, by outcome (done, or failed: a read of HSM failed).",
            labels=["outcome"],
        )
        rounds.add_metric(["done"], reconcile.rounds)
        rounds.add_metric(["failed"], reconcile.failed)
        yield rounds
        yield _counter(
            "hbtd_hsm_skipped_changes",
            "Changes HSM answered 204 to but skipped by its start-state table (not "
            "acknowledged; reconciliation reads HSM back).",
            engine.books.skipped_total,
        )

        guard = engine.guard.status()
        yield _gauge(
            "hbtd_silence_guard_engaged",
            "1 while the silence guard holds alerts (no heartbeat from anyone), else 0.",
            0 if guard.engaged_since is None else 1,
        )
        yield _gauge(
            "hbtd_silence_guard_held_alerts", "Alerts the silence guard holds back.", guard.held
        )

        params = engine.params
        yield _gauge(
            "hbtd_component_limit",
            "The most components tracked (and HSM changes pending) at once; a heartbeat from a "
            "new component beyond it is refused (reason component_limit).",
            engine.max_components,
        )
        yield _gauge("hbtd_warntime_seconds", "Warntime in force.", params.warntime)
        yield _gauge("hbtd_errtime_seconds", "Errtime in force.", params.errtime)

        telemetry = self._metrics.telemetry
        if telemetry is not None:
            yield _counter(
                "hbtd_telemetry_messages_sent",
                "Telemetry messages the bus acknowledged.",
                telemetry.delivered,
            )
            yield _gauge(
                "hbtd_telemetry_messages_waiting",
                "Telemetry messages held: buffered, or handed over and not yet acknowledged.",
                telemetry.queued,
            )
            yield _counter(
                "hbtd_telemetry_messages_dropped",
                "Telemetry messages dropped because the buffer overflowed.",
                telemetry.dropped,
            )
            yield _counter(
                "hbtd_telemetry_messages_discarded",
                "Telemetry messages thrown away because telemetry was turned off.",
                telemetry.discarded,
            )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)

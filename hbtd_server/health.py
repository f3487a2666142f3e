"""What the tracker knows about the health of what it depends on (HSM, the store), for
``/health``, the metrics and probes. HSM's health and reconciliation's record are kept in the
HSM books (``Engine.books.health``, ``Engine.books.reconcile_health``); the store's health is
the engine's (``Engine.store_health``), so ``/health`` shows it with no store at all. Each is
written through its own methods: the notifier reports through the books, the store through
:meth:`StoreHealth.report` and :meth:`StoreHealth.set_role`.

It sits below the engine and the store so that both can use it without importing each other.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .core import Kind, Params

__all__ = ["KV_OK", "HsmHealth", "ReconcileHealth", "StoreHealth", "TaskHealth"]

#: Upstream's ``KvStore`` string of ``/health`` when the store is fine.
KV_OK = "Initialization key present: HBTD_OK"


@dataclass(slots=True)
class StoreHealth:
    """What ``/readiness`` and ``/health`` say about the store.

    Attributes:
        ready: the store answered its last call; ``/readiness`` answers 503 while false.
        kv_status: upstream's ``KvStore`` string (``Error accessing key values:<why>``).
        unflushed: components whose latest state is not yet in the store.
        role: ``leader``, ``follower`` or ``detached`` with a shared store; ``single`` in
            memory (the store's ``ReplicaState`` sets it).
        flush_listeners: called with (seconds, ok) after every write-behind flush (metrics).
    """

    ready: bool = True
    kv_status: str = KV_OK
    unflushed: int = 0
    role: str = "single"
    flush_listeners: list[Callable[[float, bool], None]] = field(default_factory=list)

    def report(
        self,
        *,
        ready: bool | None = None,
        kv_status: str | None = None,
        unflushed: int | None = None,
    ) -> bool:
        """Record what the store's flusher found; returns whether the store was ready before.

        Args:
            ready: whether the store answered its last call.
            kv_status: upstream's ``KvStore`` string.
            unflushed: components whose latest state is not in the store yet.
        """
        before = self.ready
        if ready is not None:
            self.ready = ready
        if kv_status is not None:
            self.kv_status = kv_status
        if unflushed is not None:
            self.unflushed = unflushed
        return before

    def set_role(self, role: str) -> None:
        """This replica's role changed (``ReplicaState``)."""
        self.role = role

    def observe_flush(self, seconds: float, *, ok: bool) -> None:
        """One flush took ``seconds`` and wrote everything (``ok``) or not."""
        for listener in self.flush_listeners:
            listener(seconds, ok)


@dataclass(slots=True)
class TaskHealth:
    """How the background tasks fare: which failed, how often, and why last (``/health``).

    The supervisor (``service``) restarts a failed task after a back-off; this only keeps the
    record. Failures counted here are bugs or bad input the task did not expect: the HSM being
    down or Kafka unreachable are reported by their own health, not as failures.
    """

    #: Task name -> failures so far.
    failures: Counter[str] = field(default_factory=Counter)
    #: Task name -> the last failure, one line (exception class and message).
    last_error: dict[str, str] = field(default_factory=dict)

    def failed(self, task: str, error: str) -> None:
        """Record one failure of ``task``."""
        self.failures[task] += 1
        self.last_error[task] = error

    def describe(self) -> dict[str, str]:
        """Per failed task, ``"<n> failure(s); last: <error>"`` (empty when none failed)."""
        return {
            task: f"{count} failure(s); last: {self.last_error[task]}"
            for task, count in sorted(self.failures.items())
        }


@dataclass(slots=True)
class HsmHealth:
    """What the notifier knows about HSM, for ``/health`` and the logs."""

    ready: bool | None = None  # None: not asked yet
    reason: str = "not polled yet"
    last_error: str = ""
    #: PATCH attempts by outcome (delivered, refused, failed, unreachable, timeout), for metrics.
    patch_outcomes: Counter[str] = field(default_factory=Counter)
    #: Called with (outcome, seconds) after every PATCH attempt (the metrics latency histogram).
    patch_listeners: list[Callable[[str, float], None]] = field(default_factory=list)
    #: While HSM refuses everything (401, 403, a 4xx for whole batches): nothing is sent
    #: before this time (engine clock), and how many such refusals came in a row.
    refused_until: float = -math.inf
    refusal_streak: int = 0
    #: Refusal causes already logged: one line per cause, not one per attempt.
    logged_causes: set[str] = field(default_factory=set)

    def observe_patch(self, outcome: str, seconds: float) -> None:
        """Count one PATCH attempt and tell the listeners how long it took."""
        self.patch_outcomes[outcome] += 1
        for listener in self.patch_listeners:
            listener(outcome, seconds)

    def status(self, params: Params) -> str:
        """The ``HsmStatus`` string of ``/health``: upstream's exact words."""
        if params.nosm or self.ready is False:
            return "Not ready"
        return "Not initialized" if self.ready is None else "Ready"

    def detail(self, params: Params) -> str:
        """Why HSM is not ready, or what went wrong last (the ``HsmDetail`` extension)."""
        if params.nosm:
            return "HSM traffic disabled (Nosm)"
        if self.ready is None:
            return "not asked yet"
        if not self.ready:
            return self.reason
        return f"last error: {self.last_error}" if self.last_error else "OK"


@dataclass(slots=True)
class ReconcileHealth:
    """What reconciliation (reading HSM back) did, for ``/health``, the metrics and the logs.

    Attributes:
        asked: a round is due at once (after start, on taking the lead).
        started: when the last round started (engine clock).
        rounds: rounds finished since start, and ``failed`` those that could not read HSM.
        corrections: corrections wanted since start, by kind (``started``... ``dead``).
        last: the last round, as ``/health`` shows it (empty before the first).
    """

    asked: bool = True
    started: float = -math.inf
    rounds: int = 0
    failed: int = 0
    corrections: Counter[str] = field(default_factory=Counter)
    last: dict[str, object] = field(default_factory=dict)

    def ask(self) -> None:
        """A round is due at once."""
        self.asked = True

    def begin(self, now: float) -> None:
        """A round starts now."""
        self.asked = False
        self.started = now

    def fail(self, last: dict[str, object], error: str) -> None:
        """The round could not read HSM: dropped whole."""
        self.failed += 1
        self.last = last | {"Error": error}

    def drop(self, last: dict[str, object], why: str) -> None:
        """The round read HSM but its result is not this replica's to apply."""
        self.last = last | {"Error": why}

    def done(self, corrected: Sequence[tuple[str, Kind]], last: dict[str, object]) -> None:
        """The round finished, wanting ``corrected``."""
        self.rounds += 1
        for _, kind in corrected:
            self.corrections[kind.name.lower()] += 1
        self.last = last

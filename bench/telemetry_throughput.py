"""Telemetry throughput: a wave of transitions from the engine's listener to confirmed delivery.

The tracker's ``TelemetryPublisher`` (the real confluent-kafka producer: idempotent, acks=all)
publishes to librdkafka's mock Kafka broker on loopback. Each round hands one wave of
transitions (default 10,000, one per component, as when a whole machine starts) to the
publisher at once, the way the engine does, and times:

* the hand-off: the listener call on the trio thread (what heartbeat intake pays);
* delivered: until every message's delivery report confirmed it (target < 2 s).

A consumer then checks that the broker holds every message of every round. Prints each round
and the median and worst.

Usage: ``.venv/bin/python -m bench.telemetry_throughput [--wave 10000] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import trio

from hbtd_server import TelemetryPublisher
from hbtd_server.core import DEFAULT_PARAMS, Kind, Transition
from tests.integration.kafka_mock import MockKafkaCluster, read_topic, read_until

TOPIC = "cray-hmsheartbeat-notifications"
TARGET_SECONDS = 2.0


def make_wave(size: int, round_: int) -> list[Transition]:
    """One transition per component; the sender stamp tells the rounds apart."""
    stamp = f"2026-11-25T10:00:{round_:02d}Z"
    return [
        Transition(f"x{1000 + i // 256}c{i // 32 % 8}s{i // 4 % 8}b0n{i % 4}",
                   Kind.STARTED, 0.0, 0.0, stamp, "OK")
        for i in range(size)
    ]  # fmt: skip


async def poll_until(done: Callable[[], bool], *, within: float, period: float = 0.001) -> None:
    """Check ``done`` every ``period`` seconds; fail after ``within``."""
    with trio.fail_after(within):
        while True:
            if done():
                return
            await trio.sleep(period)


async def measure(wave_size: int, rounds: int) -> list[dict[str, float]]:
    """Run the rounds against a fresh mock broker; return the timings of each."""
    results = []
    with MockKafkaCluster() as kafka:
        kafka.create_topic(TOPIC)
        publisher = TelemetryPublisher()
        publisher.configure(DEFAULT_PARAMS.patched({"Telemetry_host": kafka.telemetry_host(TOPIC)}))
        async with trio.open_nursery() as nursery:
            await nursery.start(publisher.run)
            await poll_until(lambda: publisher.connected, within=10, period=0.01)
            for round_ in range(rounds):
                wave = make_wave(wave_size, round_)
                goal = publisher.delivered + wave_size
                start = time.perf_counter()
                publisher(wave)
                handed = time.perf_counter()

                def all_delivered(goal: int = goal) -> bool:
                    return publisher.delivered >= goal

                await poll_until(all_delivered, within=60)
                done = time.perf_counter()
                results.append({"handoff_ms": (handed - start) * 1e3, "delivered_s": done - start})
                await trio.sleep(0.5)  # let the producer go idle between rounds
            nursery.cancel_scope.cancel()
        with read_topic(kafka.bootstrap, TOPIC) as reader:
            total = wave_size * rounds
            await read_until(reader, lambda r: len(r.messages) >= total, within=60)
        assert len(reader.messages) == total, (len(reader.messages), total)
        assert publisher.dropped == 0
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wave", type=int, default=10_000, help="transitions per wave")
    parser.add_argument("--rounds", type=int, default=5, help="waves to time")
    args = parser.parse_args()
    results = trio.run(measure, args.wave, args.rounds)
    for index, result in enumerate(results, 1):
        print(
            f"round {index}: hand-off {result['handoff_ms']:.1f} ms, "
            f"all {args.wave} delivered and confirmed in {result['delivered_s']:.3f} s"
        )
    delivered = [r["delivered_s"] for r in results]
    handoff = [r["handoff_ms"] for r in results]
    summary = {
        "wave": args.wave,
        "rounds": args.rounds,
        "delivered_median_s": round(statistics.median(delivered), 3),
        "delivered_max_s": round(max(delivered), 3),
        "handoff_median_ms": round(statistics.median(handoff), 1),
        "messages_per_s_median": round(args.wave / statistics.median(delivered)),
        "target_s": TARGET_SECONDS,
        "met": max(delivered) < TARGET_SECONDS,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

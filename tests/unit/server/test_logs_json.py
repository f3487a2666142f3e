"""Log output (#8): JSON lines for shippers, and Debug applied live from /params."""

from __future__ import annotations

import io
import json
import logging

from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Heartbeat
from hbtd_server.ops import JsonFormatter, apply_debug_level, configure_logging
from tests.unit.server.engine_support import beat

NAMES = [f"x1000c0s{s}b0n{n}" for s in range(8) for n in range(2)]


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_timestamp_level_event_and_fields(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(log_format="json", debug=0, stream=stream)
    log = logging.getLogger("hbtd.test")
    log.info("plain %s and %d", "text", 3)
    log.warning("summary", extra={"event": "wave", "kind": "warning", "count": 1024})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("it failed")
    log.debug("not shown at Debug 0")
    plain, wave, failure = lines(stream)
    assert plain["level"] == "info"
    assert plain["logger"] == "hbtd.test"
    assert plain["event"] == "plain %s and %d"  # the template: stable, greppable
    assert plain["message"] == "plain text and 3"
    assert plain["args"] == ["text", 3]
    assert str(plain["timestamp"]).endswith("+00:00")
    assert wave == {
        "timestamp": wave["timestamp"],
        "level": "warning",
        "logger": "hbtd.test",
        "event": "wave",
        "message": "summary",
        "kind": "warning",
        "count": 1024,
    }
    assert "RuntimeError: boom" in str(failure["exception"])


def test_values_json_cannot_encode_become_text() -> None:
    record = logging.LogRecord("hbtd", logging.INFO, "f", 1, "x %s", (object,), None)
    record.__dict__["odd"] = {1, 2}
    document = json.loads(JsonFormatter().format(record))
    assert document["odd"] == "{1, 2}"


def test_text_format_is_one_line_per_record(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(log_format="text", debug=1, stream=stream)
    logging.getLogger("hbtd").debug("hello %s", "there")
    assert stream.getvalue().endswith(" DEBUG hbtd: hello there\n")


def test_waves_are_summarised_and_debug_applies_live(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(log_format="json", debug=0, stream=stream)
    clock = Clock()
    engine = Engine(DEFAULT_PARAMS, clock=clock)
    # What the service does: the process's loggers follow Debug (#16).
    engine.params_listeners.append(lambda params: apply_debug_level(params.debug))
    beat(engine, *NAMES)
    engine.flush_wave_log()
    [wave] = [line for line in lines(stream) if line["event"] == "wave"]
    assert wave["kind"] == "started"
    assert wave["count"] == len(NAMES)
    assert wave["message"] == (
        f"Heartbeat started: {len(NAMES)} components (e.g. {NAMES[0]}); {len(NAMES)} tracked"
    )

    # Debug 1 (PATCH /params): one line per transition, with the deadline and detection time.
    engine.set_params(engine.params.patched({"Debug": "1"}))
    clock.now += 10.0
    engine.detect()
    transitions = [line for line in lines(stream) if line["event"] == "transition"]
    assert len(transitions) == len(NAMES)
    assert transitions[0]["kind"] == "warning"
    assert transitions[0]["due"] == 110.0
    assert transitions[0]["detected"] == 110.0
    assert transitions[0]["sender_timestamp"] == "2026-11-25T10:00:00+00:00"
    assert not [line for line in lines(stream) if line["event"] == "heartbeat"]

    # Debug 2: every heartbeat, with the sender's TimeStamp; the line's own timestamp is the
    # receive time on the wall clock, so the two clocks can be compared.
    engine.set_params(engine.params.patched({"Debug": "2"}))
    engine.heartbeat(Heartbeat(NAMES[0], "OK", "2026-11-25T10:00:10+00:00"))
    [logged] = [line for line in lines(stream) if line["event"] == "heartbeat"]
    assert logged["level"] == "debug"
    assert logged["xname"] == NAMES[0]
    assert logged["sender_timestamp"] == "2026-11-25T10:00:10+00:00"
    assert logged["received"] == 110.0

    # Back to 0: debug lines stop at once.
    engine.set_params(engine.params.patched({"Debug": "0"}))
    before = len(lines(stream))
    engine.heartbeat(Heartbeat(NAMES[1], "OK", "t"))
    clock.now += 30.0
    engine.detect()
    assert [line["level"] for line in lines(stream)[before:]] == []


def test_an_engine_leaves_the_process_logging_alone(restore_logging: None) -> None:
    # Several engines may share a process (tests, the simulator): Debug is the caller's (#16).
    configure_logging(log_format="text", debug=0, stream=io.StringIO())
    engine = Engine(DEFAULT_PARAMS, clock=Clock())
    engine.set_params(engine.params.patched({"Debug": "2"}))
    assert logging.getLogger("hbtd").level == logging.INFO

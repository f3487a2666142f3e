from __future__ import annotations

import socket
from pathlib import Path

from hb_agent._systemd import SystemdNotifier


def test_messages_reach_the_notify_socket(tmp_path: Path) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        notifier = SystemdNotifier(environ={"NOTIFY_SOCKET": address})
        assert notifier.enabled
        notifier.notify("READY=1")
        notifier.notify("WATCHDOG=1")
        assert listener.recv(100) == b"READY=1"
        assert listener.recv(100) == b"WATCHDOG=1"


def test_abstract_socket_address() -> None:
    name = f"hb-agent-test-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        SystemdNotifier(environ={"NOTIFY_SOCKET": "@" + name}).notify("STOPPING=1")
        assert listener.recv(100) == b"STOPPING=1"


def test_without_systemd_nothing_happens(tmp_path: Path) -> None:
    notifier = SystemdNotifier(environ={})
    assert not notifier.enabled
    assert notifier.watchdog_period is None
    notifier.notify("READY=1")
    # A socket that is gone is ignored too: systemd is a courtesy, never a failure.
    SystemdNotifier(environ={"NOTIFY_SOCKET": str(tmp_path / "gone")}).notify("READY=1")


def test_watchdog_period_is_for_this_process_only() -> None:
    environ = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}
    assert SystemdNotifier(environ=environ, pid=42).watchdog_period == 30.0
    assert SystemdNotifier(environ=environ, pid=43).watchdog_period is None
    del environ["WATCHDOG_PID"]
    assert SystemdNotifier(environ=environ, pid=43).watchdog_period == 30.0
    assert SystemdNotifier(environ={**environ, "WATCHDOG_USEC": "x"}).watchdog_period is None

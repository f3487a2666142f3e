"""The systemd notify protocol (``Type=notify``, ``WatchdogSec=``), without libsystemd.

One datagram per message to ``$NOTIFY_SOCKET``; when the variable is unset (not under systemd,
or in tests) every call does nothing. Failures are ignored: telling systemd is a courtesy and
must never stop the heartbeats.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["SystemdNotifier"]


class SystemdNotifier:
    """Sends ``READY=1``, ``STOPPING=1``, ``WATCHDOG=1`` and ``STATUS=`` to systemd.

    Args:
        environ: the process environment (``NOTIFY_SOCKET``, ``WATCHDOG_USEC``,
            ``WATCHDOG_PID``).
        pid: this process's ID, to check ``WATCHDOG_PID`` against.
    """

    def __init__(self, *, environ: Mapping[str, str], pid: int | None = None) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        # An abstract socket is written "@name" in the variable and "\0name" to the kernel.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._watchdog: float | None = None
        usec = environ.get("WATCHDOG_USEC", "")
        watchdog_pid = environ.get("WATCHDOG_PID", "")
        mine = not watchdog_pid or watchdog_pid == str(pid if pid is not None else os.getpid())
        if usec.isdecimal() and int(usec) > 0 and mine:
            self._watchdog = int(usec) / 1e6

    @property
    def enabled(self) -> bool:
        """Whether systemd is listening."""
        return bool(self._address)

    @property
    def watchdog_period(self) -> float | None:
        """The watchdog timeout in seconds, or None when the watchdog is off."""
        return self._watchdog if self.enabled else None

    def notify(self, message: str) -> None:
        """Send one message, such as ``"READY=1"``; errors are ignored."""
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.sendto(message.encode("utf-8"), self._address)
        except OSError:
            pass

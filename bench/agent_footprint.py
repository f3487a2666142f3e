"""Resident memory and CPU time of a real ``hb-agent run`` process (issue 5, acceptance 4).

The agent heartbeats every ``--interval`` seconds (3 by default, as on a node) to a real
``hbtd --nosm`` on loopback for ``--seconds`` (600 by default: the 10 minutes of the target).
Its RSS is sampled from ``/proc/PID/status`` every few seconds and its CPU time read from
``/proc/PID/stat``. CPU is reported two ways: over the steady window after a warm-up (what a
node pays per hour for months) and in total including start-up (imports, first connection).
Targets: <= 40 MB resident, <= 0.1 % of one core.

Usage: ``.venv/bin/python -m bench.agent_footprint [--seconds 600] [--interval 3]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._procs import cpu_seconds, free_port, rss_bytes, stop, wait_for_port
from hbtd_server.cli import hbtd_command

RSS_TARGET_MB = 40.0
CPU_TARGET_PERCENT = 0.1
XNAME = "x1000c0s0b0n0"


def _vm(pid: int, key: str) -> int:
    """A ``VmXXX`` value of ``/proc/PID/status``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key}")


def measure(
    *, seconds: float, interval: float, warmup: float, agent_python: str
) -> dict[str, float]:
    """Run tracker and agent, sample the agent, return the numbers."""
    with tempfile.TemporaryDirectory(prefix="hb-agent-bench-") as tmp:
        root = Path(tmp)
        (root / "etc/cray").mkdir(parents=True)
        (root / "etc/cray/xname").write_text(XNAME + "\n")
        (root / "proc/sys/kernel").mkdir(parents=True)
        (root / "proc/sys/kernel/tainted").write_text("0\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}/hmi/v1"
        tracker = subprocess.Popen(
            [
                *hbtd_command(port=port),
                "--nosm",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        agent_log = root / "agent.log"
        try:
            wait_for_port(port)
            with agent_log.open("wb") as log:
                started = time.monotonic()
                command = [agent_python, "-m", "hb_agent", "run", "--config", ""]
                command += ["--root", str(root), "--url", url, "--interval", str(interval)]
                agent = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                time.sleep(warmup)
                cpu_warm = cpu_seconds(agent.pid)
                warm_at = time.monotonic()
                peak_rss = rss_bytes(agent.pid)
                while time.monotonic() - started < seconds:
                    time.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - started))))
                    peak_rss = max(peak_rss, rss_bytes(agent.pid))
                    if agent.poll() is not None:
                        raise RuntimeError(f"the agent exited: {agent_log.read_text()}")
                cpu_end = cpu_seconds(agent.pid)
                end_at = time.monotonic()
                final_rss = rss_bytes(agent.pid)
                hwm = _vm(agent.pid, "VmHWM")
                state = httpx.get(f"{url}/hbstate/{XNAME}", timeout=5).json()
            finally:
                stop(agent)
        finally:
            stop(tracker)
        log_lines = len(agent_log.read_text().splitlines())
    return {
        "seconds": end_at - started,
        "steady_seconds": end_at - warm_at,
        "rss_mb": final_rss / 2**20,
        "peak_rss_mb": peak_rss / 2**20,
        "hwm_mb": hwm / 2**20,
        "cpu_total_s": cpu_end,
        "cpu_steady_s": cpu_end - cpu_warm,
        "cpu_steady_percent": 100 * (cpu_end - cpu_warm) / (end_at - warm_at),
        "cpu_total_percent": 100 * cpu_end / (end_at - started),
        "heartbeating": float(state.get("Heartbeating") is True),
        "log_lines": float(log_lines),
    }


def main() -> int:
    """Parse arguments, measure, print; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="total run time")
    parser.add_argument("--interval", type=float, default=3.0, help="heartbeat interval")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="start-up excluded from steady CPU"
    )
    parser.add_argument(
        "--agent-python",
        default=sys.executable,
        help="the interpreter that runs the agent: give a bare install's (pip install hbtd-py, "
        "no extras) to measure the agent as a compute node runs it",
    )
    args = parser.parse_args()
    if args.seconds <= args.warmup:
        parser.error("--seconds must be longer than --warmup")
    numbers = measure(
        seconds=args.seconds,
        interval=args.interval,
        warmup=args.warmup,
        agent_python=args.agent_python,
    )
    rss_ok = numbers["peak_rss_mb"] <= RSS_TARGET_MB
    cpu_ok = numbers["cpu_steady_percent"] <= CPU_TARGET_PERCENT
    print(f"hb-agent footprint: {numbers['seconds']:.0f} s at a {args.interval:g} s interval")
    print(f"{'metric':<36}{'measured':>12}{'target':>12}")
    print(f"{'resident memory, final (MB)':<36}{numbers['rss_mb']:>12.1f}{'':>12}")
    print(
        f"{'resident memory, peak sampled (MB)':<36}{numbers['peak_rss_mb']:>12.1f}"
        f"{'<= 40':>12}  {'ok' if rss_ok else 'MISSED'}"
    )
    print(f"{'resident memory, VmHWM (MB)':<36}{numbers['hwm_mb']:>12.1f}")
    print(
        f"{'CPU, steady (% of one core)':<36}{numbers['cpu_steady_percent']:>12.3f}"
        f"{'<= 0.1':>12}  {'ok' if cpu_ok else 'MISSED'}"
    )
    print(
        f"{'CPU, steady (s over ' + format(numbers['steady_seconds'], '.0f') + ' s)':<36}"
        f"{numbers['cpu_steady_s']:>12.2f}"
    )
    print(f"{'CPU, total incl. start-up (s)':<36}{numbers['cpu_total_s']:>12.2f}")
    print(f"{'CPU, total incl. start-up (%)':<36}{numbers['cpu_total_percent']:>12.3f}")
    print(f"{'tracker says heartbeating':<36}{bool(numbers['heartbeating'])!s:>12}")
    print(f"{'agent log lines':<36}{numbers['log_lines']:>12.0f}")
    return 0 if rss_ok and cpu_ok and numbers["heartbeating"] else 1


if __name__ == "__main__":
    sys.exit(main())

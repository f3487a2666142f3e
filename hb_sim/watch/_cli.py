"""The ``hb-sim watch`` command: options, the trio main, and a clean exit on Ctrl-C.

``cli.py`` adds this command to the ``hb-sim`` group; the watching itself is ``_watch``.
"""

from __future__ import annotations

import contextlib
import signal
import ssl
import sys
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import click
import httpx
import trio

from ..view import LiveView, format_clock, run_refresher
from ._watcher import Watcher, read_xnames_file, run_watch

__all__ = ["watch"]

#: Seconds between redraws of the view's clock between polls.
REDRAW_PERIOD = 1.0


@click.command("watch")
@click.option(
    "--target",
    required=True,
    metavar="URL",
    help="The tracker's API base, e.g. http://hbtd:28500/hmi/v1 (/hmi/v1 is added to a URL "
    "without a path).",
)
@click.option(
    "--hsm",
    metavar="URL",
    help="HSM's base URL (e.g. http://cray-smd:27779); the nodes and their State/Flag come "
    "from GET /hsm/v2/State/Components?type=Node.",
)
@click.option(
    "--xnames",
    "xnames_file",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Watch the nodes named in FILE, one xname per line (# starts a comment).",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=2.0,
    show_default=True,
    metavar="S",
    help="Seconds between polls.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 50_000),
    default=1000,
    show_default=True,
    metavar="N",
    help="Most names per POST /hbstates request.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    metavar="S",
    help="Seconds each request may take.",
)
@click.option(
    "--ca-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="PEM",
    help="For https: trust only these CAs (default: the system's trust store, where a site "
    "keeps its own CA).",
)
@click.option(
    "--no-live-view",
    is_flag=True,
    help="Print flips and changed counts as lines instead (the default when stdout is not a "
    "terminal).",
)
def watch(
    target: str,
    hsm: str | None,
    xnames_file: str | None,
    interval: float,
    batch: int,
    timeout: float,
    ca_cert: Path | None,
    no_live_view: bool,
) -> None:
    """Watch a running tracker: counts per state, recent flips and a cabinet grid.

    The nodes come from HSM (--hsm) or a file (--xnames); their heartbeat state from the
    tracker's POST /hbstates, polled every --interval seconds. Ctrl-C stops it (exit 0).
    """
    if (hsm is None) == (xnames_file is None):
        raise click.UsageError("give exactly one of --hsm URL and --xnames FILE")
    _check_url(target, "--target")
    if hsm is not None:
        _check_url(hsm, "--hsm")
    xnames: list[str] = []
    if xnames_file is not None:
        try:
            with open(xnames_file, encoding="utf-8") as handle:
                xnames = read_xnames_file(handle.read())
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"cannot read --xnames {xnames_file}: {exc}") from None
        if not xnames:
            raise click.UsageError(f"--xnames {xnames_file} names no nodes")
    try:
        # The system's store, not certifi's public bundle: a site's tracker has a site CA.
        trust = ssl.create_default_context(cafile=ca_cert)
    except (OSError, ssl.SSLError) as exc:
        raise click.BadParameter(f"cannot load {ca_cert}: {exc}", param_hint="--ca-cert") from None
    live = not no_live_view and sys.stdout.isatty()
    final = trio.run(
        partial(
            _watch_until_signal,
            target=target,
            hsm=hsm,
            xnames=xnames,
            interval=interval,
            batch=batch,
            call_limit=timeout,
            live=live,
            trust=trust,
        )
    )
    click.echo(final)


async def _watch_until_signal(
    *,
    target: str,
    hsm: str | None,
    xnames: list[str],
    interval: float,
    batch: int,
    call_limit: float,
    live: bool,
    trust: ssl.SSLContext,
) -> str:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        # No client timeouts: every call runs under trio.fail_after(timeout) instead.
        async with httpx.AsyncClient(timeout=None, verify=trust) as client:
            watcher = Watcher(
                client, target=target, hsm=hsm, xnames=xnames, batch=batch, timeout=call_limit
            )
            view = LiveView(screen=True) if live else None
            with view if view is not None else contextlib.nullcontext():
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(
                        partial(
                            run_watch,
                            watcher,
                            interval=interval,
                            view=view,
                            echo=None if live else click.echo,
                            warn=None if live else _warn,
                        )
                    )
                    if view is not None:
                        nursery.start_soon(run_refresher, view, watcher.snapshot, REDRAW_PERIOD)
                    async for _ in signals:
                        nursery.cancel_scope.cancel()
                        break
    return f"hb-sim watch: stopped after {format_clock(watcher.elapsed)}; {watcher.counts_line()}"


def _check_url(url: str, option: str) -> None:
    try:
        urlsplit(url)  # stricter than httpx about brackets, and used on the URL later
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise click.BadParameter(f"{url!r} is not a URL: {exc}", param_hint=option) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise click.BadParameter(
            f"{url!r} is not an http:// or https:// URL with a host", param_hint=option
        )


def _warn(message: str) -> None:
    click.echo(f"hb-sim watch: {message}", err=True)

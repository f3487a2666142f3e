"""The ``hb-agent`` command: ``run`` (the daemon), ``send`` (one heartbeat), ``identity``.

Every option has an ``HB_AGENT_*`` environment variable and a config file key; click resolves
flag > environment > config file (loaded by the eager ``--config`` option into the context's
``default_map``) > default, and tells which one gave each value, which ``identity`` prints.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
import trio
from click.core import ParameterSource

from hbtd_server.core import LOG_FORMATS, LogFormat, log_formatter, plural
from hbtd_server.usage import OneLineUsage

from ._agent import Agent, AgentOptions
from ._config import ConfigFile, load_config
from ._errors import ConfigError, SendError
from ._identity import IDENTITY_FIELDS, Identity, IdentityReport, Sourced, discover_identity
from ._sender import Sender, make_client
from ._service import serve
from ._systemd import SystemdNotifier

__all__ = ["main"]

#: Read when present; naming a missing file explicitly is an error.
DEFAULT_CONFIG = "/etc/hb-agent.yaml"
_CONFIG_META = "hb_agent.config"

_F = TypeVar("_F", bound=Callable[..., Any])


class _Failure(click.ClickException):
    """The command failed (a heartbeat was not taken, the identity is incomplete): exit 1."""


class _ConfigFailure(click.ClickException):
    """A flag, variable, config file or node file cannot be used: exit 2, like a usage error."""

    exit_code = 2


def _all_option_names(ctx: click.Context) -> set[str]:
    """Every option name of every subcommand: the keys a config file may use."""
    root = ctx.find_root().command
    commands = root.commands.values() if isinstance(root, click.Group) else [ctx.command]
    return {
        param.name
        for command in commands
        for param in command.params
        if param.name is not None and param.name not in ("config", "as_json")
    }


def _load_config(ctx: click.Context, /, _param: click.Parameter, value: str | None) -> None:
    if not value:
        return
    path = Path(value)
    if ctx.get_parameter_source("config") is ParameterSource.DEFAULT and not path.exists():
        return
    try:
        config = load_config(path, known=_all_option_names(ctx))
    except ConfigError as exc:
        raise _ConfigFailure(str(exc)) from exc
    ctx.default_map = {**(ctx.default_map or {}), **config.options}
    ctx.meta[_CONFIG_META] = config


def _env(name: str) -> str:
    return f"HB_AGENT_{name.upper().replace('-', '_')}"


def _add_options(function: _F, options: Sequence[Callable[[Any], Any]]) -> _F:
    # The first option listed is the first --help shows.
    for option in reversed(options):
        function = option(function)
    return function


def _identity_options(function: _F) -> _F:
    options = [
        click.option(
            "--config",
            default=DEFAULT_CONFIG,
            envvar=_env("config"),
            show_envvar=True,
            show_default=True,
            is_eager=True,
            expose_value=False,
            callback=_load_config,
            help="YAML config file (options and probes); '' for none.",
        ),
        click.option(
            "--root",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("/"),
            envvar=_env("root"),
            show_envvar=True,
            show_default=True,
            help="Read etc/cray/* and proc/* under this directory (for tests).",
        ),
        click.option("--xname", envvar=_env("xname"), show_envvar=True, help="This node's xname."),
        click.option("--nid", envvar=_env("nid"), show_envvar=True, help="This node's NID."),
        click.option(
            "--hostname", envvar=_env("hostname"), show_envvar=True, help="This node's host name."
        ),
        click.option(
            "--url",
            envvar=_env("url"),
            show_envvar=True,
            help="The tracker: http://host:28500, its API base http://host:28500/hmi/v1, or the "
            "heartbeat URL (as htburl= gives it).",
        ),
        click.option(
            "--log-level",
            type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
            default="info",
            envvar=_env("log_level"),
            show_envvar=True,
            show_default=True,
        ),
        click.option(
            "--log-format",
            type=click.Choice(LOG_FORMATS),
            default="text",
            envvar=_env("log_format"),
            show_envvar=True,
            show_default=True,
            help="text: time, level, logger, message (as hbtd writes); json: one object a line.",
        ),
    ]
    return _add_options(function, options)


def _sending_options(function: _F) -> _F:
    options = [
        click.option(
            "--full-form/--xname-form",
            default=False,
            envvar=_env("full_form"),
            show_envvar=True,
            help="POST /heartbeat with Component, Hostname and NID instead of /heartbeat/{xname}.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.05),
            default=3.0,
            envvar=_env("timeout"),
            show_envvar=True,
            show_default=True,
            help="Seconds allowed for each request.",
        ),
        click.option(
            "--ca-cert",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar=_env("ca_cert"),
            show_envvar=True,
            help="Trust only these CAs (PEM) for https; default: the system trust store.",
        ),
        click.option(
            "--token-file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar=_env("token_file"),
            show_envvar=True,
            help="Send the bearer token in this file (re-read for every request).",
        ),
    ]
    return _add_options(function, options)


def _source(ctx: click.Context, /, name: str) -> str:
    source = ctx.get_parameter_source(name)
    if source is ParameterSource.COMMANDLINE:
        return f"flag --{name}"
    if source is ParameterSource.ENVIRONMENT:
        return f"env {_env(name)}"
    config: ConfigFile | None = ctx.meta.get(_CONFIG_META)
    return f"config {config.path}" if config is not None else "config file"


def _discover(ctx: click.Context, /, params: Mapping[str, Any]) -> IdentityReport:
    overrides = {
        name: Sourced(str(params[name]).strip(), _source(ctx, name))
        for name in IDENTITY_FIELDS
        if params.get(name) is not None and str(params[name]).strip()
    }
    return discover_identity(root=params["root"], overrides=overrides)


class _JournalFormatter(logging.Formatter):
    """Prefix each line with its syslog priority, which journald reads."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.ERROR:
            priority = 3
        elif record.levelno >= logging.WARNING:
            priority = 4
        elif record.levelno >= logging.INFO:
            priority = 6
        else:
            priority = 7
        return f"<{priority}>{self.inner.format(record)}"


def _setup_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        # journald stamps the time itself; the rest of the line is everyone's.
        inner = log_formatter(log_format, text="%(levelname)s %(name)s: %(message)s")
        handler.setFormatter(_JournalFormatter(inner))
    else:
        handler.setFormatter(log_formatter(log_format))
    logger = logging.getLogger("hb_agent")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


class _Group(OneLineUsage, click.Group):
    """``hb-agent``'s commands; a usage error is one line."""


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hbtd-py", prog_name="hb-agent")
def main() -> None:
    """Node-side heartbeat agent for the HBTD heartbeat tracker."""


@main.command()
@_identity_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def identity(ctx: click.Context, /, as_json: bool, **params: Any) -> None:
    """Print the node identity and where each value came from.

    Exits with status 1 when the identity cannot be used for sending.
    """
    report = _discover(ctx, params)
    problem: str | None = None
    try:
        resolved = report.resolve()
    except ConfigError as exc:
        problem = str(exc)
    else:
        problem = None
    if as_json:
        data: dict[str, Any] = {
            name: {"value": found.value, "source": found.source} for name, found in report.items()
        }
        if problem is None:
            data["resolved"] = {
                "xname": resolved.xname,
                "nid": resolved.nid,
                "hostname": resolved.hostname,
                "url": resolved.url,
            }
        data["error"] = problem
        data["warnings"] = list(report.warnings)
        click.echo(json.dumps(data, indent=2))
    else:
        for name, found in report.items():
            value = found.value if found.value is not None else "(not found)"
            where = found.source if found.value is not None else f"tried {found.source}"
            click.echo(f"{name:<9} {value:<40} {where}")
        if problem is None:
            click.echo(f"{'sends to':<9} {resolved.url}/heartbeat/{resolved.xname}")
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
    if problem is not None:
        raise _Failure(problem)


def _resolve(ctx: click.Context, params: Mapping[str, Any]) -> tuple[IdentityReport, Identity]:
    """Discover and check the identity for sending; a problem is a configuration failure."""
    report = _discover(ctx, params)
    try:
        return report, report.resolve()
    except ConfigError as exc:
        raise _ConfigFailure(str(exc)) from exc


def _sender(client: httpx.AsyncClient, identity: Identity, params: Mapping[str, Any]) -> Sender:
    return Sender(
        client=client,
        identity=identity,
        timeout=params["timeout"],
        full_form=params["full_form"],
        token_file=params["token_file"],
    )


def _client(identity: Identity, params: Mapping[str, Any]) -> httpx.AsyncClient:
    assert identity.url is not None  # resolve() insists on it
    try:
        return make_client(url=identity.url, ca_cert=params["ca_cert"])
    except ConfigError as exc:
        raise _ConfigFailure(str(exc)) from exc


@main.command()
@_identity_options
@_sending_options
@click.option(
    "--status",
    envvar=_env("status"),
    show_envvar=True,
    help="Status text; default: 'Kernel Oops' if the kernel oopsed, else 'OK'.",
)
@click.pass_context
def send(ctx: click.Context, /, status: str | None, **params: Any) -> None:
    """Send one heartbeat and exit: status 0 when the tracker took it, 1 when not."""
    _setup_logging(params["log_level"], params["log_format"])
    _, resolved = _resolve(ctx, params)
    client = _client(resolved, params)

    async def once() -> str:
        async with client:
            sender = _sender(client, resolved, params)
            agent = Agent(sender=sender, options=AgentOptions(root=params["root"]))
            sent = status if status is not None else agent.current_status()
            await agent.send_once(sent)
            return sent

    try:
        sent = trio.run(once)
    except SendError as exc:
        raise _Failure(f"heartbeat not sent: {exc}") from exc
    # One line, so a script or an operator sees what was done.
    click.echo(f"heartbeat sent: {resolved.xname} Status {sent!r} to {resolved.url}")


@main.command()
@_identity_options
@_sending_options
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=3.0,
    envvar=_env("interval"),
    show_envvar=True,
    show_default=True,
    help="Seconds between heartbeats.",
)
@click.option(
    "--jitter",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.1,
    envvar=_env("jitter"),
    show_envvar=True,
    show_default=True,
    help="Each interval varies by up to this fraction, so nodes do not beat in step.",
)
@click.option(
    "--max-backoff",
    type=click.FloatRange(min=0.05),
    envvar=_env("max_backoff"),
    show_envvar=True,
    help="Longest wait between retries after a failure; a retry never comes sooner than the "
    "interval. [default: the interval plus its jitter]",
)
@click.option(
    "--announce-shutdown/--no-announce-shutdown",
    default=False,
    envvar=_env("announce_shutdown"),
    show_envvar=True,
    help="On SIGTERM/SIGINT, send a last heartbeat with Status 'Shutdown'.",
)
@click.pass_context
def run(ctx: click.Context, /, **params: Any) -> None:
    """Send heartbeats until stopped by SIGTERM or SIGINT."""
    _setup_logging(params["log_level"], params["log_format"])
    log = logging.getLogger("hb_agent")
    report, resolved = _resolve(ctx, params)
    config: ConfigFile | None = ctx.meta.get(_CONFIG_META)
    try:
        options = AgentOptions(
            interval=params["interval"],
            jitter=params["jitter"],
            max_backoff=params["max_backoff"],
            announce_shutdown=params["announce_shutdown"],
            root=params["root"],
            probes=config.probes if config is not None else (),
        )
    except ValueError as exc:
        raise _ConfigFailure(str(exc)) from exc
    for warning in report.warnings:
        log.warning("%s", warning)

    client = _client(resolved, params)

    async def daemon() -> None:
        async with client:
            sender = _sender(client, resolved, params)
            log.info(
                "starting: xname %s (%s), tracker %s (%s), every %gs, %s%s",
                sender.identity.xname,
                report.xname.source,
                sender.identity.url,
                report.url.source,
                options.interval,
                plural(len(options.probes), "probe"),
                ", announcing shutdown" if options.announce_shutdown else "",
            )
            agent = Agent(sender=sender, options=options, rng=random.Random())
            await serve(agent, notifier=SystemdNotifier(environ=os.environ))

    trio.run(daemon)
    log.info("stopped")

"""The YAML config file: option values plus health probes.

Every command-line option may also be given here, under its long name (``interval``,
``announce-shutdown`` or ``announce_shutdown``); precedence is flag > ``HB_AGENT_*``
environment variable > this file > what the node says (see :mod:`hb_agent._identity`) >
built-in default. Probes exist only here, as a list::

    probes:
      - name: lustre
        command: [/usr/sbin/lctl, ping, 10.1.0.1@o2ib]
        timeout: 10
        every: 30
        status: Lustre Down
      - {name: memory, min_free_memory: 512MiB}
      - {name: tmp, min_free_disk: 1GiB, path: /tmp}

Unknown keys are errors, so a misspelt option cannot silently do nothing. PyYAML is imported
only when a file is read: it costs memory the agent does not need otherwise.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigError
from ._probes import CommandProbe, DiskProbe, MemoryProbe, Probe

__all__ = ["ConfigFile", "load_config", "parse_probes", "parse_size"]

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(i?b?)\s*", re.IGNORECASE)
_PROBE_KINDS = ("command", "min_free_memory", "min_free_disk")
_PROBE_KEYS = frozenset({"name", "status", "timeout", "every", "path", *_PROBE_KINDS})


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigFile:
    """A loaded config file.

    Attributes:
        path: where it was read from.
        options: option values by parameter name (``announce_shutdown``).
        probes: the health probes, in file order.
    """

    path: Path
    options: dict[str, Any] = field(default_factory=dict)
    probes: tuple[Probe, ...] = ()


def parse_size(value: object, *, what: str) -> int:
    """Read a byte count: a number, or text like ``512MiB``, ``1G``, ``100k`` (powers of 1024).

    Args:
        value: the YAML value.
        what: how to name the value in an error.

    Returns:
        The number of bytes.

    Raises:
        ConfigError: when it is neither.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{what}: {value!r} is not a size such as 1048576, 512MiB or 1G")
    number, prefix = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** ("_kmgtp".index(prefix) if prefix else 0))


def _seconds(raw: Mapping[str, object], key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: {key} must be a positive number of seconds, not {value!r}")
    return float(value)


def parse_probes(items: object, *, source: str) -> tuple[Probe, ...]:
    """Turn the ``probes:`` list of a config file into probes.

    Args:
        items: the YAML value under ``probes``.
        source: the file name, for error messages.

    Returns:
        The probes, in order.

    Raises:
        ConfigError: on any malformed entry; the message names the entry.
    """
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigError(f"{source}: 'probes' must be a list")
    probes: list[Probe] = []
    for index, raw in enumerate(items):
        where = f"{source}: probes[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a mapping")
        unknown = sorted(set(map(str, raw)) - _PROBE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}; known: {sorted(_PROBE_KEYS)}")
        kinds = [kind for kind in _PROBE_KINDS if kind in raw]
        if len(kinds) != 1:
            raise ConfigError(f"{where} needs exactly one of {', '.join(_PROBE_KINDS)}")
        name = raw.get("name", kinds[0])
        status = raw.get("status")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: name must be text")
        if status is not None and (not isinstance(status, str) or not status.strip()):
            raise ConfigError(f"{where}: status must be text")
        common: dict[str, Any] = {
            "name": name,
            "status": status,
            "timeout": _seconds(raw, "timeout", 10.0, where),
            "every": _seconds(raw, "every", 30.0, where),
        }
        kind = kinds[0]
        if kind == "command":
            command = raw["command"]
            if isinstance(command, str):
                argv = shlex.split(command)
            elif isinstance(command, list) and all(isinstance(arg, str) for arg in command):
                argv = list(command)
            else:
                raise ConfigError(f"{where}: command must be text or a list of text")
            if not argv:
                raise ConfigError(f"{where}: command is empty")
            probes.append(CommandProbe(argv=tuple(argv), **common))
        elif kind == "min_free_memory":
            size = parse_size(raw[kind], what=f"{where}: {kind}")
            probes.append(MemoryProbe(min_bytes=size, **common))
        else:
            path = raw.get("path")
            if not isinstance(path, str) or not path:
                raise ConfigError(f"{where}: min_free_disk needs a 'path'")
            size = parse_size(raw[kind], what=f"{where}: {kind}")
            probes.append(DiskProbe(path=path, min_bytes=size, **common))
    names = [probe.name for probe in probes]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{source}: probe names must be unique; repeated: {duplicates}")
    return tuple(probes)


def load_config(path: Path, *, known: Iterable[str]) -> ConfigFile:
    """Read and check a config file.

    Args:
        path: the YAML file.
        known: the option names (with underscores) it may set.

    Returns:
        The options and probes it holds.

    Raises:
        ConfigError: when it cannot be read or parsed, or holds unknown keys or bad probes.
    """
    # Imported here, not at the top: see the module docstring.
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return ConfigFile(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option names to values")
    allowed = set(known)
    options: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name == "probes":
            continue
        if name not in allowed:
            raise ConfigError(
                f"config file {path}: unknown key {key!r}; known: {', '.join(sorted(allowed))},"
                " probes"
            )
        options[name] = value
    try:
        probes = parse_probes(data.get("probes"), source=str(path))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return ConfigFile(path=path, options=options, probes=probes)

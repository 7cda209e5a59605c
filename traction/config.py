"""Load the configuration: built-in defaults, then the TOML file, then `TRACTION_*` variables.

A nested key maps to an environment variable by joining its path with `__`:
`sources.huggingface.top_n` is `TRACTION_SOURCES__HUGGINGFACE__TOP_N`. Values that
look like JSON lists or objects are parsed as JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomllib
from pydantic import ValidationError

from schemas.config import TractionConfig
from schemas.errors import EXIT_CONFIG, TractionError
from schemas.fleet import redact_url
from schemas.signing import KEY_ENV, key_from_env

ENV_PREFIX = "TRACTION_"
CONFIG_ENV = "TRACTION_CONFIG"
# TRACTION_* variables that are not config keys (the signing key is a secret, never config).
NOT_KEYS = {CONFIG_ENV, KEY_ENV}


class ConfigError(TractionError):
    """A configuration problem, worded for the operator: which key, which value, why."""

    exit_code = EXIT_CONFIG


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple, str]]:
    overrides: dict[str, Any] = {}
    origin: dict[tuple, str] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_KEYS:
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if not all(path):
            raise ConfigError(f"{name}: empty key segment in variable name")
        value: Any = raw
        if raw.strip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name}={raw!r}: not valid JSON ({exc.msg})") from exc
        node = overrides
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name}: {'.'.join(path)} conflicts with another variable")
            node = child
        node[path[-1]] = value
        origin[path] = name
    return overrides, origin


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> TractionConfig:
    """Build the config, raising ConfigError that names the key at fault and its value."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    data: dict[str, Any] = {}
    where = "built-in defaults"
    if path:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {file} does not exist") from None
        except IsADirectoryError:
            raise ConfigError(f"config file {file} is a directory, not a TOML file") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"config file {file} is not UTF-8 text (byte {exc.object[exc.start]:#04x}"
                f" at offset {exc.start}); TOML files are UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"config file {file} cannot be read: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
        where = str(file)
    overrides, origin = _env_overrides(environ)
    data = _merge(data, overrides)
    try:
        config = TractionConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            key = ".".join(loc)
            source = _origin(loc, origin) or where
            # An unknown key's value is never echoed: it may be a token put in the wrong place.
            secret = err["type"] == "extra_forbidden" or any(
                word in key.lower() for word in ("token", "key", "secret", "password")
            )
            shown = "" if err["type"] == "missing" or secret else f" = {_shown(err['input'])}"
            problems.append(f"{key}{shown} (from {source}): {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from exc
    try:
        key_from_env(environ)  # a bad signing key stops every command, not the first publish
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return config


def _origin(loc: tuple[str, ...], origin: dict[tuple, str]) -> str | None:
    """The variable that set `loc`, or a section around it (`TRACTION_SOURCES__HUGGINGFACE`
    as a JSON object sets every key inside it)."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in origin:
            return origin[loc[:end]]
    return None


def _shown(value: object) -> str:
    """A rejected value as the error shows it: URLs lose their password, also inside a
    section (a whole-section error echoes the section)."""

    def redacted(item: object) -> object:
        if isinstance(item, str) and "://" in item:
            return redact_url(item)
        if isinstance(item, Mapping):
            return {k: redacted(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [redacted(v) for v in item]
        return item

    return repr(redacted(value))

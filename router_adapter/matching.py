"""Which snapshot model a LiteLLM deployment serves.

The rule itself (explicit `model_info` ids, then the operator's `alias_map`, then the
route compared exactly, never substrings) lives in `schemas.identity.match_deployment`,
so that the worker's backtest matches deployments exactly as the adapter does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.identity import EXPLICIT_KEYS
from schemas.identity import match_deployment as _match

from .snapshot_file import ModelView, SnapshotView

__all__ = ["EXPLICIT_KEYS", "match_deployment"]


def match_deployment(
    deployment: Mapping[str, Any],
    view: SnapshotView,
    alias_map: Mapping[str, Any] | None = None,
) -> ModelView | None:
    return _match(deployment, view.by_alias, alias_map)

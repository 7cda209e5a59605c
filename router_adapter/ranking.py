"""Choosing among a group's healthy deployments: shared by the SDK strategy and the proxy.

Traffic policies:
- `winner`: everything to the best-scored healthy deployment. With hysteresis, the
  current winner keeps its place until a rival beats it by more than `hysteresis`
  score points, so small score changes do not move traffic (and do not throw away a
  provider's warm prompt cache).
- `weighted`: spread over the `top_k` best-scored healthy deployments, in proportion
  to score (scores shifted so the lowest of the k weighs `WEIGHT_FLOOR` of the range).

Anything doubtful (no snapshot, unreadable, invalid, stale, nothing in the group
matched, a bug) serves the first healthy deployment in configured order, records why
in the request's metadata, and counts it.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple

from .matching import match_deployment
from .snapshot_file import ModelView, SnapshotView
from .snapshot_source import DEFAULTS

log = logging.getLogger("traction.adapter")

DEFAULT_MAX_AGE: float | None = DEFAULTS.max_age
WARN_EVERY = 60.0  # seconds between fallback warnings of the same kind
WEIGHT_FLOOR = 0.1
POLICIES = ("winner", "weighted")
ROUND_MARGIN = 0.05 - 1e-6  # ages within this of an age rounded to 0.1 s round alike

# Fallback decisions by reason. Plain dicts, not Counters: `d[k] += 1` on a dict subclass
# misses CPython's fast path.
_totals: dict[str, int] = {}
_totals_lock = threading.Lock()
# Fresh decisions, the request path's, are counted without a lock: `next()` on an
# itertools.count is one C call, atomic under the GIL (as `threading` numbers threads).
# Each Ranker's count is kept here for good, so stats() outlives discarded Routers.
_fresh_counts: list[itertools.count] = []


def _read(counter: itertools.count) -> int:
    """How many times `next()` was called on a `count()` started at 0."""
    return int(repr(counter)[len("count(") : -1])


def stats() -> dict[str, int]:
    """Decisions since this process started, by reason, over every strategy and proxy
    filter (monotonic: a discarded Router does not take its counts with it)."""
    with _totals_lock:
        totals = dict(_totals)
    fresh = sum(_read(count) for count in list(_fresh_counts))
    return {**totals, "fresh": fresh} if fresh else totals


def deployment_id(deployment: Mapping[str, Any]) -> str:
    return str((deployment.get("model_info") or {}).get("id"))


class _Ranked(NamedTuple):
    """A healthy list ranked under one snapshot: what every policy needs, as indices into it."""

    ids: list[str]  # deployment id of each
    first: dict[str, int]  # deployment id -> index of its first deployment
    scores: list[float]  # score of each (0.0 when unmatched)
    best: int  # the first of the best-scored
    top: list[int]  # the `top_k` best, best first (ties in list order)
    cum_weights: list[float]  # cumulative `weighted` weights of `top`


class _Group:
    """One group's healthy list as last seen under one snapshot, and its ranking."""

    __slots__ = ("view", "fresh_until", "generated_ts", "healthy", "ranked", "pick", "records")

    def __init__(
        self,
        view: SnapshotView,
        fresh_until: float,
        healthy: list[dict],
        ranked: _Ranked | None,
        pick: int | None,
    ):
        self.view = view
        self.fresh_until = fresh_until  # time.time() from which the snapshot is stale
        self.generated_ts = view.generated_ts
        self.healthy = healthy
        self.ranked = ranked  # None: nothing in the list matched
        self.pick = pick  # the index every request gets, when the policy has one
        # index chosen -> (ages above, ages below, metadata["traction"] to copy for them)
        self.records: dict[int, tuple[float, float, dict]] = {}


class Ranker:
    def __init__(
        self,
        source: Any,
        alias_map: Mapping[str, Any] | None = None,
        max_age: float | None = DEFAULT_MAX_AGE,
        policy: str = DEFAULTS.policy,
        top_k: int = DEFAULTS.top_k,
        hysteresis: float = DEFAULTS.hysteresis,
        seed: int | None = None,
    ):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        if hysteresis < 0:
            raise ValueError(f"hysteresis must be >= 0, not {hysteresis}")
        self.source = source
        self.alias_map = dict(alias_map or {})
        self.max_age = max_age
        self.policy = policy
        self.top_k = top_k
        self.hysteresis = hysteresis
        self._counts: dict[str, int] = {}  # fallbacks by reason (guarded by _totals_lock)
        self._fresh = itertools.count()  # fresh decisions
        _fresh_counts.append(self._fresh)
        self._random = random.Random(seed)
        self._winners: dict[str, str] = {}  # group -> current winner's deployment id
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}
        self._groups: dict[str, _Group] = {}
        # group -> (times between which it holds, snapshot view, healthy list, pick, the
        # decision to copy, the fresh count's __next__): `choose`'s fast path
        self._fast: dict[str, tuple] = {}
        # deployment id -> matched model key (None: no match), under one snapshot
        self._matches: tuple[SnapshotView | None, dict[str, str | None]] = (None, {})

    @property
    def counters(self) -> Counter[str]:
        """This ranker's decisions by reason (a copy)."""
        with _totals_lock:
            counts = Counter(self._counts)
        fresh = _read(self._fresh)
        if fresh:
            counts["fresh"] = fresh
        return counts

    def choose(self, group: str, healthy: list[dict], request_kwargs: dict | None) -> dict:
        """One of `healthy` (never anything else), and the reason recorded.

        Everything that depends only on the snapshot and the group's healthy list is
        computed once (`_group`) and kept until either changes. While neither does, the
        policy gives every request the same deployment (`winner` without hysteresis) and
        the snapshot's age rounds as for the last request, a request reads the clock once
        against the times its last decision holds between (the age's rounding, the
        snapshot's freshness and the source's next check), checks the source still holds
        the same view, compares the healthy list with the one last ranked, counts, and
        copies the last decision; anything else takes `_choose`."""
        try:
            fast = self._fast.get(group)
            if fast is not None:
                since, until, view, last_healthy, pick, record, tick = fast
                try:
                    same = (
                        since < time.time() < until
                        and self.source.view is view
                        and last_healthy == healthy
                    )
                except Exception:  # a deployment that cannot be compared: rank afresh
                    same = False
                if same:
                    if request_kwargs is not None:
                        metadata = request_kwargs.get("metadata", request_kwargs)
                        if metadata is request_kwargs:  # absent: created, as setdefault would
                            metadata = request_kwargs["metadata"] = {}
                        if type(metadata) is dict:
                            tick()
                            metadata["traction"] = record.copy()
                            return healthy[pick]
                    else:
                        tick()
                        return healthy[pick]
            view, problem = self.source.current()
            return self._choose(group, healthy, request_kwargs, view, problem)
        except Exception:  # a bug here must cost ranking, never the request
            log.exception("traction: ranking failed; serving the first healthy deployment")
            return self._fallback(healthy, "error", request_kwargs, None)

    def _choose(
        self,
        group: str,
        healthy: list[dict],
        request_kwargs: dict | None,
        view: SnapshotView | None,
        problem: str | None,
    ) -> dict:
        if view is None:
            return self._fallback(healthy, problem or "missing", request_kwargs, None)
        fresh_until = view.stale_after_ts
        if self.max_age is not None:
            fresh_until = min(fresh_until, view.generated_ts + self.max_age)
        now = time.time()
        if now >= fresh_until:
            return self._fallback(healthy, "stale", request_kwargs, view)
        seen = self._groups.get(group)
        try:
            same = seen is not None and seen.view is view and seen.healthy == healthy
        except Exception:  # a deployment that cannot be compared: rank afresh
            same = False
        if not same:
            seen = self._groups[group] = self._group(healthy, view, fresh_until)
        ranked = seen.ranked  # type: ignore[union-attr]
        if ranked is None:
            return self._fallback(healthy, "no-match", request_kwargs, view)
        index = seen.pick  # type: ignore[union-attr]
        if index is None:
            if self.policy == "weighted":
                index = self._random.choices(ranked.top, cum_weights=ranked.cum_weights)[0]
            else:
                index = self._hold(group, healthy, ranked)
        next(self._fresh)
        if request_kwargs is not None:
            self._record_fresh(request_kwargs, group, seen, index, now)  # type: ignore[arg-type]
        return healthy[index]

    def _record_fresh(
        self, request_kwargs: dict, group: str, seen: _Group, index: int, now: float
    ) -> None:
        """`metadata["traction"]` for a fresh decision: a copy of the last one written for
        this deployment of this list while the age rounds to the same tenth of a second."""
        try:
            metadata = request_kwargs.get("metadata", request_kwargs)
            if metadata is request_kwargs:  # absent: setdefault, without a {} every time
                metadata = request_kwargs["metadata"] = {}
            if isinstance(metadata, dict):
                age = now - seen.generated_ts
                last = seen.records.get(index)
                if last is not None and last[0] < age < last[1]:
                    metadata["traction"] = last[2].copy()
                else:
                    metadata["traction"] = self._fresh_record(group, seen, index, age)
        except Exception:  # metadata is best effort
            pass

    def _fresh_record(self, group: str, seen: _Group, index: int, age: float) -> dict:
        """A new `metadata["traction"]` for a fresh decision, kept to be copied while the age
        rounds to the same tenth of a second."""
        rounded = round(age, 1)
        record = {
            "decision": "fresh",
            "detail": None,
            "policy": self.policy,
            "snapshot_version": seen.view.version,
            "snapshot_age_s": rounded,
            "deployment_id": deployment_id(seen.healthy[index]),
        }
        if abs(rounded) >= 0.1:  # (not 0: ages just under it round to -0.0)
            # Every age strictly within ROUND_MARGIN of `rounded` rounds to it.
            low, high = rounded - ROUND_MARGIN, rounded + ROUND_MARGIN
            seen.records[index] = (low, high, record.copy())
            if index == seen.pick:  # what `choose` needs to answer alone, in one tuple
                # Valid while the age rounds to this record, until the snapshot goes
                # stale or the source must be checked again (its monotonic time moved to
                # the wall clock's, which the age and staleness are measured on).
                recheck = time.time() + (self.source.recheck_at() - time.monotonic())
                self._fast[group] = (
                    seen.generated_ts + low,
                    min(seen.fresh_until, seen.generated_ts + high, recheck),
                    seen.view,
                    seen.healthy,
                    index,
                    seen.records[index][2],
                    self._fresh.__next__,  # counts a fresh decision
                )
        return record

    # The ranking of a healthy list, computed once per snapshot and list ------------------

    def _group(self, healthy: list[dict], view: SnapshotView, fresh_until: float) -> _Group:
        matches = self._matches
        if matches[0] is not view:  # a new snapshot: every deployment is matched anew
            matches = self._matches = (view, {})
        ranked = self._rank(healthy, view, matches[1])
        plain_winner = self.policy == "winner" and not self.hysteresis
        pick = ranked.best if ranked is not None and plain_winner else None
        return _Group(view, fresh_until, list(healthy), ranked, pick)

    def _rank(
        self, healthy: list[dict], view: SnapshotView, matches: dict[str, str | None]
    ) -> _Ranked | None:
        ids = [deployment_id(d) for d in healthy]
        hits = [self._match(d, i, view, matches) for d, i in zip(healthy, ids, strict=True)]
        if not any(hits):
            return None
        # Unmatched deployments count as neutral (0): the snapshot has no evidence on them.
        scores = [hit.score if hit else 0.0 for hit in hits]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        top = order[: self.top_k]
        top_scores = [scores[i] for i in top]
        low, high = min(top_scores), max(top_scores)
        spread = high - low
        weights = [
            (s - low) / spread * (1 - WEIGHT_FLOOR) + WEIGHT_FLOOR if spread else 1.0
            for s in top_scores
        ]
        first: dict[str, int] = {}
        for index, dep_id in enumerate(ids):
            first.setdefault(dep_id, index)
        return _Ranked(ids, first, scores, order[0], top, list(itertools.accumulate(weights)))

    def _hold(self, group: str, healthy: list[dict], ranked: _Ranked) -> int:
        """`winner` with hysteresis: the current winner keeps its place unless the best
        beats it by more than `hysteresis` score points."""
        best = ranked.best
        with self._lock:
            incumbent = ranked.first.get(self._winners.get(group))  # type: ignore[arg-type]
            if (
                incumbent is not None
                and healthy[incumbent] is not healthy[best]
                and ranked.scores[best] - ranked.scores[incumbent] <= self.hysteresis
            ):
                return incumbent  # not enough better to move the traffic
            self._winners[group] = ranked.ids[best]
        return best

    def _match(
        self, deployment: dict, dep_id: str, view: SnapshotView, matches: dict[str, str | None]
    ) -> ModelView | None:
        if dep_id in matches:
            key = matches[dep_id]
            return None if key is None else view.by_alias[key]
        hit = match_deployment(deployment, view, self.alias_map)
        matches[dep_id] = None if hit is None else hit.key
        return hit

    def _fallback(
        self, healthy: list[dict], reason: str, request_kwargs: dict | None, view: Any
    ) -> dict:
        now = time.monotonic()
        kind = reason.split(":", 1)[0]
        if now - self._warned.get(kind, float("-inf")) >= WARN_EVERY:
            self._warned[kind] = now
            log.warning(
                "traction: snapshot %s (%s); routing by deployment order",
                reason,
                getattr(self.source, "location", "?"),
            )
        self._record(kind, request_kwargs, view, healthy[0], detail=reason)
        return healthy[0]

    def _record(
        self,
        reason: str,
        request_kwargs: dict | None,
        view: SnapshotView | None,
        chosen: dict,
        detail: str | None = None,
    ) -> None:
        with _totals_lock:
            self._counts[reason] = self._counts.get(reason, 0) + 1
            _totals[reason] = _totals.get(reason, 0) + 1
        if request_kwargs is None:
            return
        try:
            # LiteLLM passes `metadata` (SDK) or `litellm_metadata`; logging callbacks
            # read the former, so that is where the decision goes.
            metadata = request_kwargs.setdefault("metadata", {})
            if isinstance(metadata, dict):
                metadata["traction"] = {
                    "decision": reason,
                    "detail": detail,
                    "policy": self.policy,
                    "snapshot_version": view.version if view else None,
                    "snapshot_age_s": round(view.age_seconds(), 1) if view else None,
                    "deployment_id": deployment_id(chosen),
                }
        except Exception:  # metadata is best effort
            pass

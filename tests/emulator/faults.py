"""Fault injection rules: which API request gets which failure.

Rules are checked in order; the first rule that matches the request, has firings left and wins its
probability draw fires. Draws come from one ``random.Random`` seeded by ``set_faults``, so a given
seed and request order always gives the same faults. Not thread-safe on its own: the engine calls
it under its lock.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Pattern, Tuple

ACTIONS = ("status", "status_after", "drop", "drop_after", "delay", "revoke_token", "expire_token", "html",
           "truncated_json", "gzip_bomb")
# Actions after which the request is still processed by the API (``status_after``: processed, then the
# reply replaced by the rule's status, e.g. a 500 after the PUT was applied).
PROCESSING_ACTIONS = frozenset(("delay", "drop_after", "truncated_json", "status_after"))


@dataclass
class FaultRule:
    """One rule: a match on method and path (regex search), an action and its parameters."""

    action: str
    method: Optional[str] = None
    path: Optional[Pattern[str]] = None
    query: Dict[str, str] = field(default_factory=dict)   # every key must be in the request's query, equal
    probability: float = 1.0
    times: Optional[int] = None
    status: int = 503
    body: Any = None
    text: Optional[str] = None          # for ``status``: this raw body instead of JSON ``body`` (e.g. cut short)
    headers: Dict[str, str] = field(default_factory=dict)
    seconds: float = 1.0
    fired: int = 0

    @classmethod
    def parse(cls, raw: Any) -> "FaultRule":
        """Build a rule from its JSON form; raise ``ValueError`` on anything malformed."""
        if not isinstance(raw, dict):
            raise ValueError("a fault rule is an object: %r" % (raw,))
        unknown = set(raw) - {"match", "action", "probability", "times", "status", "body", "text", "headers",
                              "seconds"}
        if unknown:
            raise ValueError("unknown fault rule keys: %s" % ", ".join(sorted(unknown)))
        action = raw.get("action")
        if action not in ACTIONS:
            raise ValueError("fault action %r is not one of %s" % (action, ", ".join(ACTIONS)))
        match = raw.get("match") or {}
        if not isinstance(match, dict) or set(match) - {"method", "path", "query"}:
            raise ValueError("fault match takes only method, path and query: %r" % (match,))
        query = match.get("query") or {}
        if not isinstance(query, dict):
            raise ValueError("fault match query is an object of query keys and values: %r" % (query,))
        probability = raw.get("probability", 1.0)
        times = raw.get("times")
        if not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
            raise ValueError("fault probability must be between 0 and 1")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError("fault times must be a non-negative integer or null")
        try:
            path = re.compile(match["path"]) if match.get("path") else None
        except re.error as exc:
            raise ValueError("fault path %r is not a regular expression: %s" % (match["path"], exc)) from None
        text = raw.get("text")
        if text is not None and not isinstance(text, str):
            raise ValueError("fault text must be a string")
        return cls(action=action, method=(match.get("method") or None) and str(match["method"]).upper(), path=path,
                   query={str(k): str(v) for k, v in query.items()}, probability=float(probability), times=times, status=int(raw.get("status", 503)),
                   body=raw.get("body"), text=text, headers={str(k): str(v) for k, v in (raw.get("headers") or {}).items()},
                   seconds=float(raw.get("seconds", 1.0)))

    def matches(self, method: str, path: str, query: Optional[Dict[str, str]] = None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        if any((query or {}).get(key) != value for key, value in self.query.items()):
            return False
        return self.path is None or bool(self.path.search(path))


class FaultPlan:
    """The active rules and their random source."""

    def __init__(self, seed: Optional[int] = None) -> None:
        self.rules: List[FaultRule] = []
        self.rng = random.Random(seed)

    def set(self, rules: List[Any], seed: Optional[int]) -> None:
        """Replace the rules (all checked before any is installed) and reseed the draws."""
        if not isinstance(rules, list):
            raise ValueError("fault rules are a list")
        self.rules = [FaultRule.parse(raw) for raw in rules]
        self.rng = random.Random(seed)

    def clear(self) -> None:
        self.rules = []

    def pick(self, method: str, path: str, query: Optional[Dict[str, str]] = None) -> Optional[Tuple[int, FaultRule]]:
        """(index in the rule list, rule) of the rule that fires for this request, if any (its firing is counted)."""
        for index, rule in enumerate(self.rules):
            if rule.matches(method, path, query) and (rule.probability >= 1 or self.rng.random() < rule.probability):
                rule.fired += 1
                return index, rule
        return None

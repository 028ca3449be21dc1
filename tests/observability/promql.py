"""A tiny PromQL evaluator for the subset the Grafana dashboard uses, on one scrape.

Supported: selectors with `=`, `!=`, `=~`, `!~` matchers; `sum`, `max`, `min`, `avg`,
`count` with an optional `by (...)`; `rate` and `increase` over a range, taken as the
raw counter value (a scrape is one instant, and every counter here started at zero, so
the value is what the whole run added); `histogram_quantile`. Anything else raises, so
a dashboard query outside the subset fails its test instead of passing unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Vector = dict[Labels, float]

_TOKEN = re.compile(
    r'\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)|(?P<str>"(?:[^"\\]|\\.)*")'
    r"|(?P<range>\[[^\]]+\])|(?P<op>=~|!~|!=|[=(){},]))"
)
_AGGREGATIONS: dict[str, Callable[[list[float]], float]] = {
    "sum": sum,
    "max": max,
    "min": min,
    "avg": lambda values: sum(values) / len(values),
    "count": len,
}


def scrape(text: str, **target: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a /metrics text, with the target's labels (`job`, `instance`)
    added as Prometheus adds them."""
    return [
        (s.name, {**s.labels, **target}, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    samples: list[tuple[str, dict[str, str], float]]
    pos: int = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        got = self.peek()
        if got[0] != kind or (value is not None and got[1] != value):
            raise ValueError(f"expected {value or kind} at token {self.pos}, got {got}")
        self.pos += 1
        return got[1]

    def by(self) -> list[str] | None:
        if self.peek() != ("name", "by"):
            return None
        self.take("name")
        self.take("op", "(")
        names = []
        while self.peek() != ("op", ")"):
            names.append(self.take("name"))
            if self.peek() == ("op", ","):
                self.take("op", ",")
        self.take("op", ")")
        return names

    def expr(self) -> Vector:
        name = self.take("name")
        if name in _AGGREGATIONS:
            by = self.by()  # `sum by (x) (...)` or `sum (...) by (x)`
            self.take("op", "(")
            inner = self.expr()
            self.take("op", ")")
            return _aggregate(_AGGREGATIONS[name], inner, by or self.by() or [])
        if name in ("rate", "increase"):
            self.take("op", "(")
            inner = self.selector(self.take("name"))
            self.take("range")
            self.take("op", ")")
            return inner
        if name == "histogram_quantile":
            self.take("op", "(")
            q = float(self.take("num"))
            self.take("op", ",")
            inner = self.expr()
            self.take("op", ")")
            return _quantile(q, inner)
        return self.selector(name)

    def selector(self, metric: str) -> Vector:
        tests: list[Callable[[dict[str, str]], bool]] = []
        if self.peek() == ("op", "{"):
            self.take("op", "{")
            while self.peek() != ("op", "}"):
                label, op = self.take("name"), self.take("op")
                value = self.take("str")[1:-1].replace('\\"', '"')
                tests.append(_matcher(label, op, value))
                if self.peek() == ("op", ","):
                    self.take("op", ",")
            self.take("op", "}")
        out: Vector = {}
        for name, labels, sample in self.samples:
            if name == metric and all(test(labels) for test in tests):
                out[tuple(sorted(labels.items()))] = sample
        return out


def _matcher(label: str, op: str, value: str) -> Callable[[dict[str, str]], bool]:
    if op == "=":
        return lambda labels: labels.get(label, "") == value
    if op == "!=":
        return lambda labels: labels.get(label, "") != value
    pattern = re.compile(value)
    if op == "=~":
        return lambda labels: pattern.fullmatch(labels.get(label, "")) is not None
    return lambda labels: pattern.fullmatch(labels.get(label, "")) is None


def _aggregate(fn: Callable[[list[float]], float], inner: Vector, by: list[str]) -> Vector:
    groups: dict[Labels, list[float]] = {}
    for labels, value in inner.items():
        key = tuple((k, v) for k, v in labels if k in by)
        groups.setdefault(key, []).append(value)
    return {key: fn(values) for key, values in groups.items()}


def _quantile(q: float, inner: Vector) -> Vector:
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for labels, value in inner.items():
        le = dict(labels)["le"]
        key = tuple((k, v) for k, v in labels if k != "le")
        groups.setdefault(key, []).append((float(le), value))
    out: Vector = {}
    for key, buckets in groups.items():
        buckets.sort()
        total = buckets[-1][1]
        if total == 0:
            continue
        rank, lower, below = q * total, 0.0, 0.0
        for upper, count in buckets:
            if count >= rank:
                if upper == float("inf"):
                    out[key] = lower
                else:
                    span = count - below
                    out[key] = lower + (upper - lower) * ((rank - below) / span if span else 0)
                break
            lower, below = upper, count
    return out


def evaluate(expr: str, samples: list[tuple[str, dict[str, str], float]]) -> Vector:
    """The instant vector `expr` gives on `samples` (see `scrape`)."""
    tokens = []
    for m in _TOKEN.finditer(expr):
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind)))
    if "".join(value for _, value in tokens) != re.sub(r"\s+", "", expr):
        raise ValueError(f"unsupported syntax in {expr!r}")
    parser = _Parser(tokens, samples)
    result = parser.expr()
    parser.take("end")
    return result

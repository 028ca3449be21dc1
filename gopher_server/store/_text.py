"""Typing bridge: the store's Redis client decodes replies (decode_responses=True), but
redis-py types them as `bytes | str`. These helpers state that once, checked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def text(value: Any) -> str:
    """A reply value as str."""
    return value if isinstance(value, str) else bytes(value).decode()


def texts(values: Iterable[Any]) -> list[str]:
    """Reply values as a list of str."""
    return [text(v) for v in values]


def scored(values: Iterable[Any]) -> list[tuple[str, float]]:
    """A WITHSCORES reply as (member, score) pairs."""
    return [(text(m), float(s)) for m, s in values]

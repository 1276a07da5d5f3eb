"""Splitting long id lists for `IN (…)` queries: a city has hundreds of thousands of households or people, and
SQLite binds at most 32,766 values a statement (PostgreSQL 65,535)."""

from collections.abc import Iterable, Iterator

IN_BATCH = 900


def in_batches(ids: Iterable[int], size: int | None = None) -> Iterator[list[int]]:
    """The distinct ids, sorted, in lists of at most `size` (default IN_BATCH)."""
    ids = sorted(set(ids))
    size = size or IN_BATCH
    for start in range(0, len(ids), size):
        yield ids[start : start + size]

"""A million lines' columns read as one row of long strings — integers as fixed-width digits end to end, texts
between separators — rather than a million row tuples: the database concatenates in C and numpy or `str.split`
takes the strings apart, where fetching the tuples costs about 2 s of Python objects per million lines."""

import numpy as np
from django.db import connection

SEPARATOR = "\x1f"  # between texts: the unit separator, a character no name or account contains


def id_width(cursor, table: str) -> int:
    """Digits of the table's largest id (its primary key's last entry): ids written no wider than they need."""
    cursor.execute(f"SELECT max(id) FROM {table}")
    return len(str(cursor.fetchone()[0] or 0))


def integer(expr: str, width: int) -> str:
    """SQL for a non-negative integer column as `width` digits."""
    if connection.vendor == "sqlite":
        return f"printf('%0{width}d', {expr})"
    return f"lpad(CAST({expr} AS TEXT), {width}, '0')"


def fetch(cursor, columns: list[str], source: str, params: list) -> list[str | None]:
    """One string per column over the rows of `source` (FROM … WHERE …), all in one row order: `integer(...)`
    columns end to end, other columns each followed by SEPARATOR. None where no row matched."""
    sqlite = connection.vendor == "sqlite"
    separator = "char(31)" if sqlite else "chr(31)"
    aggregate = "group_concat({}, '')" if sqlite else "string_agg({}, '')"
    parts = [c if c.startswith(("printf(", "lpad(")) else f"{c} || {separator}" for c in columns]
    cursor.execute("SELECT " + ", ".join(aggregate.format(p) for p in parts) + " " + source, params)
    return list(cursor.fetchone())


def integers(text: str, width: int) -> np.ndarray:
    """The integers of an `integer(...)` column."""
    digits = np.frombuffer(text.encode(), dtype=np.uint8).reshape(-1, width) - np.uint8(48)
    value = np.zeros(digits.shape[0], dtype=np.int64)
    for column in range(width):  # column by column: no int64 copy of every digit
        value *= 10
        value += digits[:, column]
    return value


def texts(text: str) -> list[str]:
    """The values of a text column."""
    return text.split(SEPARATOR)[:-1]

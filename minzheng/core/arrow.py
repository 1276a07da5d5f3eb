"""Arrow tables for the engines' inputs, from a declared schema ({column: "int64" | "string" | "date" | "boolean"})
and rows of Python values: one typed table per input, built set-wise from one query each."""

import datetime

import pyarrow as pa

_TYPES = {"int64": pa.int64(), "string": pa.string(), "date": pa.date32(), "boolean": pa.bool_()}


def schema(spec: dict[str, str]) -> pa.Schema:
    return pa.schema([(name, _TYPES[t]) for name, t in spec.items()])


def table(spec: dict[str, str], rows: list[tuple]) -> pa.Table:
    """Rows (tuples in the schema's column order) as a typed table; no rows gives an empty table of the schema."""
    typed = schema(spec)
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in typed]
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, typed, strict=True)], schema=typed
    )


def from_columns(spec: dict[str, str], columns: list[list]) -> pa.Table:
    typed = schema(spec)
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, typed, strict=True)], schema=typed)


def as_date(value) -> datetime.date | None:
    """A date from the database driver (SQLite gives text, PostgreSQL a date)."""
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])

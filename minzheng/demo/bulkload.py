"""Writing a generated population: plain multi-row INSERTs through Django's connection, with the registry's secondary
indexes dropped during a large load and rebuilt after (the same SQL on SQLite and PostgreSQL)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from minzheng.regions.models import Region
from minzheng.registry.models import Household, Membership, Person

# --- Writing ------------------------------------------------------------------------------------------------------

PERSON_FIELDS = (
    "id",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "phone",
    "region",
    "disability_category",
    "disability_grade",
    "self_care",
    "created_at",
    "updated_at",
    "version",
)
HOUSEHOLD_FIELDS = (
    "id",
    "region",
    "address",
    "area_type",
    "head",
    "bank_name",
    "bank_account",
    "account_holder",
    "created_at",
    "updated_at",
    "version",
)
MEMBERSHIP_FIELDS = ("id", "household", "person", "relationship", "joined_on", "leave_reason")
TABLES = ((Person, PERSON_FIELDS), (Household, HOUSEHOLD_FIELDS), (Membership, MEMBERSHIP_FIELDS))


def _columns(model, fields: tuple[str, ...]) -> str:
    return ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)


def max_id(cursor, model) -> int:
    cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
    return cursor.fetchone()[0] or 0


def write(cursor, rows_by_table: tuple[list[tuple], ...]) -> None:
    postgres = connection.vendor == "postgresql"
    for (model, fields), rows in zip(TABLES, rows_by_table, strict=True):
        table = connection.ops.quote_name(model._meta.db_table)
        columns = _columns(model, fields)
        if postgres:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


@dataclass
class Dropped:
    """Secondary indexes (and on PostgreSQL foreign keys) set aside for a bulk load, with the SQL to restore them."""

    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX …)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, definition)


def drop_for_bulk_load(cursor) -> Dropped:
    """Set aside what makes row-by-row loading slow, the way the PostgreSQL manual advises for bulk loads: building an
    index from sorted data beats millions of random inserts, and re-adding a foreign key validates it with one join
    instead of a trigger per row. Unique indexes stay, and all of it happens inside the caller's transaction, so the
    schema is back (and every row checked) before anything commits."""
    quote = connection.ops.quote_name
    tables = [m._meta.db_table for m, _ in TABLES]
    dropped = Dropped()
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = ANY(%s::regclass[]) AND NOT x.indisunique"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
            [tables],
        )
        dropped.indexes = cursor.fetchall()
        # Keys to regions and among the three tables only: a NULL recorded_by costs nothing to check, and leaving it
        # alone keeps the users table free of our lock.
        referenced = [*tables, Region._meta.db_table]
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) AND confrelid = ANY(%s::regclass[])"
            " ORDER BY conname",
            [tables, referenced],
        )
        dropped.foreign_keys = cursor.fetchall()
        # ALTER TABLE refuses tables with deferred checks still queued from earlier in the transaction: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in dropped.foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    else:
        for table in tables:
            cursor.execute(f"PRAGMA index_list({quote(table)})")  # seq, name, unique, origin, partial
            names = [row[1] for row in cursor.fetchall() if row[3] == "c" and not row[2]]
            for name in sorted(names):
                cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
                dropped.indexes.append((name, cursor.fetchone()[0]))
    for name, _sql in dropped.indexes:
        cursor.execute(f"DROP INDEX {quote(name)}")
    return dropped


def restore_after_bulk_load(cursor, dropped: Dropped) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, sql in dropped.indexes:
        cursor.execute(sql)
    for table, name, definition in dropped.foreign_keys:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
    if connection.vendor == "postgresql":
        # Back to normal after drop_for_bulk_load's IMMEDIATE: Django declares foreign keys INITIALLY DEFERRED.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def load_used_numbers(cursor, areas: Iterable[str]) -> set[int]:
    """int(first 17 digits) of every identity number already stored under the area codes we will use."""
    used: set[int] = set()
    column = connection.ops.quote_name(Person._meta.get_field("id_number").column)
    table = connection.ops.quote_name(Person._meta.db_table)
    for area in sorted(set(areas)):
        # A range on the unique index rather than LIKE, which SQLite cannot serve from it.
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} >= %s AND {column} < %s", [area, area + ":"])
        for (number,) in cursor.fetchall():
            if number[:17].isdigit():
                used.add(int(number[:17]))
    return used

"""The window's row store: every snapshot's rows also kept in one SQLite file, indexed by person key and by identity
number, so a one-household check reads its few rows by index instead of decoding Parquet row groups.

The Parquet files stay the record (the batch reads them whole); the store is derived from them and can be deleted at
any time. A file is loaded after its import commits, or on first use by a window check; it is known by its path,
size and modification time, so a file rewritten under the same name is loaded again. When a newer delivery of the
same source and region is loaded, the older ones' rows are dropped (their pages are reused by the next load, so the
store stays about one delivery per source and region); a check dated back to when one was in force loads it again.
"""

import hashlib
import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .sources import SOURCES, source_schema

log = logging.getLogger(__name__)

STORE_NAME = "rows.sqlite3"
_SQLITE_TYPES = {"int64": "INTEGER", "int32": "INTEGER", "string": "TEXT", "date": "TEXT", "decimal(18,2)": "REAL"}
_LOAD_BATCH = 65_536
LAYOUT = ";clustered-v2"  # part of each table's name: a new layout starts new tables


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / STORE_NAME


def sqlite_type(ibis_type: str) -> str:
    """The SQLite column type for an engine type: dates as ISO text (they compare as dates), money as REAL (the rules
    round it to whole fen, exact for any amount below 2^53 fen)."""
    return "INTEGER" if ibis_type == "boolean" else _SQLITE_TYPES[ibis_type]


def table_name(code: str) -> str:
    """A source's table, named after its columns: a source whose declared fields change gets a new table."""
    columns = ",".join(f"{n}:{t}" for n, t in source_schema(code).items()) + LAYOUT
    return f"rows_{code}_{hashlib.sha256(columns.encode()).hexdigest()[:8]}"


def connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    return con


def ensure_schema(path: Path) -> None:
    """Create the store and a table per source (the window's reads expect every table to exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path)
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS files (file_id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE,"
            " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, source TEXT NOT NULL, rows INTEGER NOT NULL)"
        )
        for code in SOURCES:
            name = table_name(code)
            columns = ", ".join(f"{n} {sqlite_type(t)}" for n, t in source_schema(code).items())
            # Clustered on (file, person, row): a person's rows are one range of one b-tree, and no second copy of
            # the key is kept in an index. Unmatched rows carry person key 0 (keys start at 1) and keep their
            # identity number, the only thing that can match them later; matched rows need no number.
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {name} (file_id INTEGER NOT NULL, {columns},"
                f" PRIMARY KEY (file_id, person_key, row_no)) WITHOUT ROWID"
            )
            con.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_unmatched ON {name} (file_id, id_number) WHERE person_key = 0"
            )
    finally:
        con.close()


def identity(path: Path) -> tuple[int, int]:
    """Which file the store is (device, inode), creating it first if it is missing: a connection attached to a
    store that was deleted would go on reading the deleted file."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        ensure_schema(path)
        stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _signature(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def file_ids(path: Path, snapshots: dict[str, Path | None]) -> dict[str, int | None]:
    """The store's id of each source's snapshot file, loading any file the store does not hold yet (or holds in an
    older version). A source without a snapshot maps to None."""
    wanted = {code: Path(p) for code, p in snapshots.items() if p is not None}
    if not wanted:
        return dict.fromkeys(snapshots)
    signatures = {code: _signature(p) for code, p in wanted.items()}
    con = connect(path)
    try:
        known = {
            p: (file_id, size, mtime)
            for file_id, p, size, mtime in con.execute(
                f"SELECT file_id, path, size, mtime_ns FROM files WHERE path IN ({','.join('?' * len(wanted))})",
                [str(p) for p in wanted.values()],
            )
        }
        ids: dict[str, int | None] = dict.fromkeys(snapshots)
        for code, p in wanted.items():
            entry = known.get(str(p))
            if entry is not None and entry[1:] == signatures[code]:
                ids[code] = entry[0]
            else:
                ids[code] = _load(con, code, p, signatures[code])
        return ids
    finally:
        con.close()


def load(path: Path, code: str, parquet: Path) -> int:
    """Load one snapshot file now (after its import): returns its id in the store."""
    ensure_schema(path)
    return file_ids(path, {code: parquet})[code]


def load_quietly(path: Path, code: str, parquet: Path, superseded: Sequence[Path] = ()) -> None:
    """After an import commits: load the new file and drop the files it supersedes. A failure here only delays the
    load to the first window check that needs the file (or leaves the old rows in place)."""
    try:
        load(path, code, parquet)
        prune(path, superseded)
    except (OSError, sqlite3.Error, pa.ArrowException):
        log.warning("快照行存储加载失败，将在首次核对时重试：%s", parquet, exc_info=True)


def prune(path: Path, superseded: Sequence[Path]) -> int:
    """Drop the rows of snapshot files a newer delivery has superseded; returns how many files were dropped. A window
    check reading one of them at that moment notices and loads it again (`engine.SQLiteRunner._fill`)."""
    if not superseded:
        return 0
    con = connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            files = con.execute(
                f"SELECT file_id, source FROM files WHERE path IN ({','.join('?' * len(superseded))})",
                [str(p) for p in superseded],
            ).fetchall()
            for file_id, source in files:
                _drop(con, file_id, source)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return len(files)
    finally:
        con.close()


def _drop(con: sqlite3.Connection, file_id: int, source: str) -> None:
    con.execute(f"DELETE FROM {table_name(source)} WHERE file_id = ?", (file_id,))
    con.execute("DELETE FROM files WHERE file_id = ?", (file_id,))


def _load(con: sqlite3.Connection, code: str, parquet: Path, signature: tuple[int, int]) -> int:
    """One transaction: drop any older load of this path, insert every row, record the file. Two processes loading
    the same file serialise on the write lock; the second finds the first's load and uses it."""
    name = table_name(code)
    schema = source_schema(code)
    con.execute("BEGIN IMMEDIATE")
    try:
        row = con.execute("SELECT file_id, size, mtime_ns FROM files WHERE path = ?", (str(parquet),)).fetchone()
        if row is not None and tuple(row[1:]) == signature:
            con.execute("COMMIT")
            return row[0]
        if row is not None:
            _drop(con, row[0], con.execute("SELECT source FROM files WHERE file_id = ?", (row[0],)).fetchone()[0])
        file_id = con.execute(
            "INSERT INTO files (path, size, mtime_ns, source, rows) VALUES (?, ?, ?, ?, 0)",
            (str(parquet), *signature, code),
        ).lastrowid
        insert = f"INSERT INTO {name} VALUES ({','.join('?' * (len(schema) + 1))})"
        total = 0
        reader = pq.ParquetFile(parquet)
        key, number = list(schema).index("person_key"), list(schema).index("id_number")
        for batch in reader.iter_batches(batch_size=_LOAD_BATCH, columns=list(schema)):
            columns = [sqlite_values(batch.column(i)) for i in range(batch.num_columns)]
            columns[number] = [n if k is None else None for k, n in zip(columns[key], columns[number], strict=True)]
            columns[key] = [0 if k is None else k for k in columns[key]]
            con.executemany(insert, zip([file_id] * batch.num_rows, *columns, strict=True))
            total += batch.num_rows
        con.execute("UPDATE files SET rows = ? WHERE file_id = ?", (total, file_id))
        con.execute("COMMIT")
        return file_id
    except BaseException:
        con.execute("ROLLBACK")
        raise


def sqlite_values(column: pa.Array) -> list:
    """Arrow values as SQLite takes them: dates as ISO text, decimals as the nearest double."""
    if pa.types.is_date(column.type):
        column = column.cast(pa.string())
    elif pa.types.is_decimal(column.type):
        # Through text: Arrow's direct cast is not correctly rounded (1000.29 would become 1000.2900000000001).
        column = column.cast(pa.string()).cast(pa.float64())
    return column.to_pylist()

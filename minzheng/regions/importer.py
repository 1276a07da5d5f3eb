"""Import of the national division data shipped with the package (NBS 2023, five levels).

Set-based: the rows under the prefix are loaded into a temporary table (COPY on PostgreSQL, executemany on SQLite),
then merged with one INSERT of the new codes and one UPDATE of the changed ones. Re-running is idempotent.
"""

import csv
import hashlib
import io
import lzma
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources

from django.db import connection, transaction
from django.db.models import Count

from minzheng.core.errors import DomainError

from . import codes
from .models import Region

DATA_PACKAGE = "minzheng.regions.data"
# (file, level) from the top down; each file's first column is the region's own official code.
SOURCES = [
    ("provinces.csv.xz", codes.PROVINCE),
    ("cities.csv.xz", codes.CITY),
    ("areas.csv.xz", codes.COUNTY),
    ("streets.csv.xz", codes.TOWNSHIP),
    ("villages.csv.xz", codes.VILLAGE),
]
Row = tuple[str, str, int, str | None, str]  # code, name, level, parent code, urban/rural


@dataclass
class ReadStats:
    """What the shipped files hold under the prefix: rows per level, and the rows merged into a higher level's row
    because they repeat its code (东莞/中山/儋州's county rows, 金门县's township and village rows)."""

    shipped: dict[int, int] = field(default_factory=dict)
    merged: dict[int, list[str]] = field(default_factory=dict)  # level -> names of the merged rows


@dataclass
class ImportResult:
    prefix: str
    rows_read: int
    added: int
    updated: int
    seconds: float
    counts: dict[int, int]
    shipped: dict[int, int] = field(default_factory=dict)
    merged: dict[int, list[str]] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """Per level: the regions now in the database and, where that differs, the rows shipped and why (the counts
        of regions/data/README.md are the shipped rows)."""
        lines = []
        for level in sorted(set(self.counts) | set(self.shipped)):
            line = f"{codes.LEVEL_NAMES[level]}: {self.counts.get(level, 0)}"
            shipped = self.shipped.get(level)
            if shipped is not None and shipped != self.counts.get(level, 0):
                merged = self.merged.get(level, [])
                line += f"（数据文件 {shipped} 行"
                if merged:
                    line += f"，其中 {len(merged)} 行与上级区划代码相同已合并：{'、'.join(merged)}"
                line += "）"
            lines.append(line)
        return lines


def _open_source(filename: str) -> io.TextIOWrapper:
    raw = resources.files(DATA_PACKAGE).joinpath(filename).read_bytes()
    return io.TextIOWrapper(io.BytesIO(lzma.decompress(raw)), encoding="utf-8", newline="")


def verify_checksums() -> None:
    """The shipped files must match SHA256SUMS.csv-uncompressed (provenance: see data/README.md)."""
    sums = resources.files(DATA_PACKAGE).joinpath("SHA256SUMS.csv-uncompressed").read_text()
    expected = dict(reversed(line.split()) for line in sums.splitlines() if line.strip())
    for filename, _level in SOURCES:
        raw = lzma.decompress(resources.files(DATA_PACKAGE).joinpath(filename).read_bytes())
        if hashlib.sha256(raw).hexdigest() != expected[filename.removesuffix(".xz")]:
            raise DomainError(f"区划数据文件 {filename} 校验失败，数据可能已损坏", "corrupt_division_data")


def read_rows(prefix: str, stats: ReadStats | None = None) -> Iterator[Row]:
    """Every division under `prefix` (official code digits), its ancestors, and the national root. `stats`, when
    given, counts the shipped rows under the prefix per level and names the merged ones."""
    canonical_prefix = codes.canonical(prefix) if prefix else codes.ROOT_CODE
    prefix_level = codes.level_of(canonical_prefix) if prefix else codes.COUNTRY
    wanted = {canonical_prefix[: codes.PREFIX_LENGTH[lv]] for lv in range(codes.PROVINCE, prefix_level)}
    yield codes.ROOT_CODE, codes.ROOT_NAME, codes.COUNTRY, None, ""
    seen: set[str] = {codes.ROOT_CODE}
    for filename, level in SOURCES:
        with _open_source(filename) as fh:
            reader = csv.reader(fh)
            next(reader)  # header
            for record in reader:
                official, name = record[0], record[1]
                if not (official.startswith(prefix) or official in wanted):
                    continue
                code = official.ljust(12, "0")
                counted = stats is not None and official.startswith(prefix)
                if counted:
                    stats.shipped[level] = stats.shipped.get(level, 0) + 1
                # 东莞/中山/儋州 list a county row with the city's own canonical code, and 金门县 repeats itself as a
                # township and a village: the higher-level row stands for all of them.
                if code in seen:
                    if counted:
                        stats.merged.setdefault(level, []).append(name.strip())
                    continue
                seen.add(code)
                urban = codes.urban_rural(code) if level == codes.VILLAGE else ""
                yield code, name.strip(), level, codes.parent_code(code, level), urban


def count_levels(prefix: str) -> dict[int, int]:
    """How many regions the database holds under the prefix, by level (the prefix's own level included)."""
    qs = Region.objects.all()
    qs = qs.subtree(codes.canonical(prefix)) if prefix else qs.exclude(level=codes.COUNTRY)
    return {row["level"]: row["n"] for row in qs.values("level").annotate(n=Count("code"))}


def _check_prefix(prefix: str) -> str:
    prefix = (prefix or "").strip()
    if prefix and (not prefix.isascii() or not prefix.isdigit() or len(prefix) not in (2, 4, 6, 9, 12)):
        raise DomainError(f"区划前缀“{prefix}”格式错误：应为2、4、6、9或12位数字", "invalid_region_code")
    return prefix


_TEMP = "minzheng_region_import"
_COLUMNS = "code, name, level, parent_id, urban_rural"


def import_regions(prefix: str = "") -> ImportResult:
    """Load divisions under `prefix` ("" = the whole country). All-or-nothing, idempotent."""
    prefix = _check_prefix(prefix)
    started = time.perf_counter()
    stats = ReadStats()
    rows = list(read_rows(prefix, stats))
    if not any(row[0].startswith(prefix) and row[0] != codes.ROOT_CODE for row in rows):  # only ancestors were read
        raise DomainError(f"区划数据中没有代码以“{prefix}”开头的区划", "unknown_region_code")
    table = Region._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # The staging table is dropped explicitly (not ON COMMIT DROP) so two imports in one transaction work.
        cursor.execute(f"DROP TABLE IF EXISTS {_TEMP}")
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMP TABLE {_TEMP} (code varchar(12) PRIMARY KEY, name varchar(100), level smallint,"
                " parent_id varchar(12), urban_rural varchar(5))"
            )
            with cursor.copy(f"COPY {_TEMP} ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.execute(
                f"CREATE TEMP TABLE {_TEMP} (code text PRIMARY KEY, name text, level integer,"
                " parent_id text, urban_rural text)"
            )
            cursor.executemany(f"INSERT INTO {_TEMP} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s)", rows)
        cursor.execute(
            f"UPDATE {table} SET name = t.name, level = t.level, parent_id = t.parent_id,"
            f" urban_rural = t.urban_rural FROM {_TEMP} t WHERE {table}.code = t.code AND"
            f" ({table}.name <> t.name OR {table}.level <> t.level OR {table}.urban_rural <> t.urban_rural"
            f" OR COALESCE({table}.parent_id, '') <> COALESCE(t.parent_id, ''))"
        )
        updated = max(cursor.rowcount, 0)
        cursor.execute(
            f"INSERT INTO {table} ({_COLUMNS}) SELECT {_COLUMNS} FROM {_TEMP} t"
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.code = t.code) ORDER BY t.level, t.code"
        )
        added = max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE {_TEMP}")
    return ImportResult(
        prefix=prefix,
        rows_read=len(rows),
        added=added,
        updated=updated,
        seconds=time.perf_counter() - started,
        counts=count_levels(prefix),
        shipped=stats.shipped,
        merged=stats.merged,
    )

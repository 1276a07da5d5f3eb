"""Backups that restore (issue 18 §5): `minzheng backup DIR` and `minzheng restore DIR`.

A backup folder holds
- `database.sqlite3` (SQLite's online backup API: a consistent copy while the platform runs) or `database.dump`
  (PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`);
- `data/`: the data folder (settings.CHECKS_DATA_DIR: departmental snapshots, rejects reports, batch results and the
  row store — SQLite files in it are copied through the backup API too; `*.tmp` scratch files are left out);
- `manifest.json`: when, which engine, the audit chain's head (sequence number and hash), the row count of every table,
  and every file's size and SHA-256.

Restore verifies every checksum first, refuses a database that already holds users or audit entries (or a non-empty
data folder) unless forced, restores the database and the folder, and then verifies the audit chain and compares its
head with the manifest's.
"""

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from .errors import DomainError

MANIFEST = "manifest.json"
DATA = "data"
SQLITE_DUMP = "database.sqlite3"
PG_DUMP = "database.dump"
FORMAT = 1
_SKIPPED_SUFFIXES = (".tmp", "-wal", "-shm", "-journal")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_copy(source: str | Path, target: str | Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API), replacing whatever the target held."""
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def _pg_env(db: dict) -> tuple[list[str], dict]:
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict, what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DomainError(f"{what}失败：找不到 {command[0]}（请安装 PostgreSQL 客户端工具）", "backup_tool") from None
    if done.returncode != 0:
        raise DomainError(f"{what}失败：{done.stderr.strip()[:1000]}", "backup_tool")


def table_counts() -> dict[str, int]:
    """The row count of every table of the database."""
    tables = sorted(connection.introspection.table_names())
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def audit_head() -> dict:
    from .models import AuditChainHead

    head = AuditChainHead.objects.filter(id=1).first()
    return {"seq": head.last_seq if head else 0, "hash": head.last_hash if head else ""}


def _data_files(root: Path):
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES):
            yield path


def _sqlite_facts(db: sqlite3.Connection) -> tuple[dict, dict[str, int]]:
    """The audit head and the table counts of a SQLite copy (the tables Django's introspection lists)."""
    names = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence' ORDER BY name"
        )
    ]
    tables = {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    row = db.execute("SELECT last_seq, last_hash FROM core_auditchainhead WHERE id = 1").fetchone()
    return {"seq": row[0] if row else 0, "hash": row[1] if row else ""}, tables


def _pg_dump(target: Path) -> tuple[dict, dict[str, int]]:
    """pg_dump of the snapshot this connection exports, with the head and counts read in that same snapshot."""
    from django.db import transaction

    args, env = _pg_env(connection.settings_dict)
    nested = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if not nested:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        head, tables = audit_head(), table_counts()
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
        _run([*command, "--file", str(target), *args], env, "导出数据库")
    return head, tables


@dataclass
class Backup:
    folder: Path
    engine: str
    files: list[dict] = field(default_factory=list)
    head: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(f["size"] for f in self.files)


def backup(folder: str | Path) -> Backup:
    """Write a backup of the database, the data folder and the audit head into a new (or empty) folder."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise DomainError(f"备份目录 {folder} 不是空目录，请指定新的目录", "backup_exists")
    folder.mkdir(parents=True, exist_ok=True)
    vendor = connection.vendor
    # The head and the counts are read from the very state the copy holds (the copy itself for SQLite, pg_dump's
    # exported snapshot for PostgreSQL), so a backup taken while the platform runs restores to exactly them.
    if vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(str(folder / SQLITE_DUMP))
        try:
            connection.connection.backup(target)
            head, tables = _sqlite_facts(target)
        finally:
            target.close()
    elif vendor == "postgresql":
        head, tables = _pg_dump(folder / PG_DUMP)
    else:
        raise DomainError(f"不支持备份 {vendor} 数据库（仅支持 SQLite 和 PostgreSQL）", "backup_engine")
    source = Path(settings.CHECKS_DATA_DIR)
    for path in _data_files(source):
        target = folder / DATA / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_sqlite(path):
            _sqlite_copy(path, target)
        else:
            shutil.copy2(path, target)
    files = [
        {"path": p.relative_to(folder).as_posix(), "size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    manifest = {
        "format": FORMAT,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "engine": vendor,
        "audit_head": head,
        "tables": tables,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return Backup(folder, vendor, files, head, tables)


def read_manifest(folder: str | Path) -> dict:
    """The manifest with every file checked against its size and SHA-256; a Chinese error for the first mismatch."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DomainError(f"{folder} 不是备份目录（缺少 {MANIFEST}）", "not_a_backup") from None
    except ValueError:
        raise DomainError(f"备份清单 {MANIFEST} 已损坏", "bad_manifest") from None
    if manifest.get("format") != FORMAT:
        raise DomainError(f"备份清单格式 {manifest.get('format')} 不受支持", "bad_manifest")
    for entry in manifest.get("files", []):
        path = (folder / entry["path"]).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise DomainError(f"备份清单中的路径 {entry['path']} 不在备份目录内", "bad_manifest")
        if not path.is_file():
            raise DomainError(f"备份文件缺失：{entry['path']}", "backup_corrupt")
        if path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            raise DomainError(f"备份文件校验失败（大小或SHA-256不符）：{entry['path']}", "backup_corrupt")
    return manifest


def database_in_use() -> bool:
    """A database in use holds users or audit entries (a freshly migrated one holds only its seeded catalogue)."""
    from django.contrib.auth import get_user_model

    from .models import AuditEntry

    tables = set(connection.introspection.table_names())
    user_model = get_user_model()
    return any(model._meta.db_table in tables and model.objects.exists() for model in (user_model, AuditEntry))


@dataclass
class Restored:
    manifest: dict
    checked: int
    problems: list
    head: dict

    @property
    def head_matches(self) -> bool:
        return self.head == self.manifest["audit_head"]


def restore(folder: str | Path, *, force: bool = False) -> Restored:
    """Restore a backup folder into this installation's database and data folder, then verify the audit chain."""
    from .audit import verify_chain

    folder = Path(folder)
    manifest = read_manifest(folder)
    vendor = connection.vendor
    if manifest["engine"] != vendor:
        raise DomainError(f"备份来自 {manifest['engine']} 数据库，不能恢复到 {vendor} 数据库", "backup_engine")
    data_dir = Path(settings.CHECKS_DATA_DIR)
    if not force:
        if database_in_use():
            raise DomainError("目标数据库已有用户或审计记录，恢复会覆盖全部数据；确认后请加 --force", "database_in_use")
        if data_dir.exists() and any(data_dir.iterdir()):
            raise DomainError(
                f"数据目录 {data_dir} 不是空目录，恢复会覆盖其中的文件；确认后请加 --force", "data_in_use"
            )
    if vendor == "sqlite":
        name = connection.settings_dict["NAME"]
        connection.close()
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(folder / SQLITE_DUMP, name)
    else:
        connection.close()
        args, env = _pg_env(connection.settings_dict)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                *args,
                str(folder / PG_DUMP),
            ],
            env,
            "恢复数据库",
        )
    if data_dir.exists():
        shutil.rmtree(data_dir)
    source = folder / DATA
    data_dir.mkdir(parents=True, exist_ok=True)
    if source.exists():
        shutil.copytree(source, data_dir, dirs_exist_ok=True)
    checked, problems = verify_chain()
    return Restored(manifest, checked, problems, audit_head())

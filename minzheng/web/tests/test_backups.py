"""Issue 18 §5: `minzheng backup` and `minzheng restore` — a backup restored into an empty database (a new SQLite
file, or a new PostgreSQL database) gives identical data (the row count of every table and sampled rows), the data
folder byte for byte, and a valid audit chain whose head matches the backup's."""

import datetime
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from minzheng.conftest import make_id_number
from minzheng.core import backups

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]  # the work tree, first on the restore process's path
SAMPLED = ("registry_person", "registry_household", "cases_case", "core_auditentry", "core_auditchainhead")


@pytest.fixture
def platform_data(regions, make_user, household_data, checks_dir):
    """Households, an application and their audit trail; files in the data folder, the row store among them."""
    from minzheng.cases import services as cases
    from minzheng.registry import services as registry

    clerk = make_user("clerk")
    for seq in (11, 13):
        household = registry.create_household(
            clerk,
            household_data(
                members=[("02", "张三", make_id_number(seq=seq)), ("12", "李四", make_id_number(seq=seq + 10))]
            ),
        )
    cases.open_application(
        clerk,
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
    )
    (checks_dir / "snapshots" / "civil_status").mkdir(parents=True)
    (checks_dir / "snapshots" / "civil_status" / "v1.parquet").write_bytes(os.urandom(4096))
    (checks_dir / "snapshots" / "civil_status" / "v2.parquet.tmp").write_bytes(b"half written")
    store = sqlite3.connect(checks_dir / "rows.sqlite3")
    store.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    store.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"行{i}") for i in range(500)])
    store.commit()
    store.close()
    return checks_dir


def _target(tmp_path):
    """A new, empty database: (DATABASE_URL, a function returning (counts, sampled rows), a clean-up)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"

        def read():
            db = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)  # as Django reads
            try:
                names = [
                    r[0]
                    for r in db.execute(
                        "SELECT name FROM sqlite_master WHERE type='table' AND name != 'sqlite_sequence' ORDER BY name"
                    )
                ]
                counts = {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
                rows = {t: db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in SAMPLED}
                return counts, rows
            finally:
                db.close()

        return f"sqlite:///{path}", read, lambda: None
    import psycopg

    settings = connection.settings_dict
    name = f"minzheng_restore_{uuid.uuid4().hex[:8]}"
    conninfo = dict(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def read():
        with psycopg.connect(dbname=name, **conninfo) as db:
            names = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            counts = {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}
            rows = {t: db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in SAMPLED}
            return counts, rows

    def drop():
        with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    url = f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT'] or 5432}/{name}"
    return url, read, drop


def _minzheng(*args, database_url: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CHECKS_DATA_DIR": str(data_dir),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [sys.executable, "-c", "from minzheng.manage import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _source():
    rows = {}
    with connection.cursor() as cursor:
        for table in SAMPLED:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
            rows[table] = [tuple(r) for r in cursor.fetchall()]
    return backups.table_counts(), rows


def _norm(value):
    """One form for values two drivers return differently (JSON as text or objects, the UTC zone's two spellings)."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, datetime.datetime) and value.tzinfo:
        return value.astimezone(datetime.UTC).isoformat()
    return value


def _rows(tables: dict) -> dict:
    return {t: [tuple(_norm(v) for v in r) for r in rows] for t, rows in tables.items()}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_backup_restores_into_an_empty_database(platform_data, tmp_path):
    folder = tmp_path / "backup"
    call_command("backup", str(folder))
    manifest = backups.read_manifest(folder)
    head = backups.audit_head()
    assert head["seq"] > 0 and manifest["audit_head"] == head
    paths = {f["path"] for f in manifest["files"]}
    assert "data/rows.sqlite3" in paths and "data/snapshots/civil_status/v1.parquet" in paths
    assert not any(p.endswith(".tmp") for p in paths)
    counts, rows = _source()
    assert manifest["tables"] == counts

    url, read, drop = _target(tmp_path)
    restored_dir = tmp_path / "restored-data"
    try:
        done = _minzheng("restore", str(folder), database_url=url, data_dir=restored_dir)
        assert done.returncode == 0, done.stderr + done.stdout
        assert f"链尾哈希与备份一致：第 {head['seq']} 条，{head['hash']}" in done.stdout
        restored_counts, restored_rows = read()
        assert restored_counts == counts
        assert _rows(restored_rows) == _rows(rows)
        assert rows["registry_person"] and rows["cases_case"]
        expected_files = {k: v for k, v in _files(platform_data).items() if not k.endswith(".tmp")}
        restored_files = _files(restored_dir)
        assert restored_files.keys() == expected_files.keys()
        assert (
            restored_files["snapshots/civil_status/v1.parquet"] == expected_files["snapshots/civil_status/v1.parquet"]
        )
        store = sqlite3.connect(restored_dir / "rows.sqlite3")  # copied through the backup API: same rows
        assert store.execute("SELECT COUNT(*), SUM(a), MAX(b) FROM t").fetchone() == (500, 124750, "行99")
        store.close()
        verified = _minzheng("verify_audit", database_url=url, data_dir=restored_dir)
        assert verified.returncode == 0 and "哈希链校验通过" in verified.stdout, verified.stderr

        # A database in use is refused unless forced; a corrupt backup is refused whatever the flag.
        again = _minzheng("restore", str(folder), database_url=url, data_dir=restored_dir)
        assert again.returncode == 1 and "已有用户或审计记录" in again.stderr and "--force" in again.stderr
        forced = _minzheng("restore", str(folder), "--force", database_url=url, data_dir=restored_dir)
        assert forced.returncode == 0, forced.stderr
        assert read()[0] == counts
        victim = folder / "data" / "snapshots" / "civil_status" / "v1.parquet"
        victim.write_bytes(b"x" + victim.read_bytes()[1:])
        corrupt = _minzheng("restore", str(folder), "--force", database_url=url, data_dir=restored_dir)
        assert corrupt.returncode == 1 and "校验失败" in corrupt.stderr and "v1.parquet" in corrupt.stderr
    finally:
        drop()


def test_backup_refuses_a_folder_that_is_not_empty(platform_data, tmp_path, capsys):
    from django.core.management.base import CommandError

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "something").write_text("x")
    with pytest.raises(CommandError, match="不是空目录"):
        call_command("backup", str(tmp_path / "old"))


def test_restore_refuses_a_folder_that_is_not_a_backup(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="不是备份目录"):
        call_command("restore", str(tmp_path))

"""A benchmark's own database and data folder: Django's test-database machinery creates and migrates the database
(SQLite in the scratch folder, or `<DATABASE_URL's name>_bench_<pid>` on PostgreSQL), the body runs, and both are
dropped at the end unless `keep`."""

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import django


def in_scratch_database(label: str, body: Callable[[Path], None], *, keep: bool = False, sqlite: bool = False) -> None:
    """Run `body(scratch_folder)` against a fresh database; `sqlite`: always SQLite, whatever DATABASE_URL says."""
    scratch = Path(tempfile.mkdtemp(prefix=f"minzheng-bench-{label}-"))
    if sqlite:
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/unused.sqlite3"
    else:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/unused.sqlite3")
    os.environ["CHECKS_DATA_DIR"] = str(scratch / "checks")
    # The generators' deliveries are trusted and, at a million households, one source exceeds the per-delivery
    # defaults meant for departments' files (10 M rows): a benchmark lifts them unless told otherwise.
    os.environ.setdefault("IMPORT_MAX_ROWS", str(10**9))
    os.environ.setdefault("IMPORT_MAX_FILE_BYTES", str(64 * 1024**3))
    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = f"{scratch}/bench.sqlite3"
    else:
        connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_bench_{os.getpid()}"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        body(scratch)
    finally:
        if keep:
            print(f"kept: {scratch} (database {name})")
        else:
            connection.creation.destroy_test_db(name, verbosity=0)
            shutil.rmtree(scratch, ignore_errors=True)

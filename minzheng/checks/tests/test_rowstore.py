"""The window's row store: filled after an import commits, rebuilt from the Parquet files when missing or stale, and
read by the window check (SQLite) with the same results as the batch (DuckDB)."""

import datetime
import sqlite3
from decimal import Decimal
from functools import partial

import duckdb
import pytest

from minzheng.checks import inputs, services
from minzheng.checks.engine import execute
from minzheng.conftest import make_id_number
from minzheng.exchange import files, importer, rowstore
from minzheng.exchange.files import snapshot_path
from minzheng.registry.models import Person

from .conftest import AS_OF, member_ids, wages

pytestmark = pytest.mark.django_db


def stored_files(checks_dir) -> dict[str, tuple[str, int]]:
    if not rowstore.store_path(checks_dir).exists():
        return {}
    con = sqlite3.connect(rowstore.store_path(checks_dir))
    try:
        return {path: (source, rows) for path, source, rows in con.execute("SELECT path, source, rows FROM files")}
    finally:
        con.close()


def batch_counted(family) -> int:
    engine_inputs, _, _ = inputs.for_region(family.region_id, AS_OF)
    out = execute(engine_inputs)["households"].to_pylist()
    return next(h["counted"] for h in out if h["household_key"] == family.pk)


def test_an_import_fills_the_store_once_committed(family, checks_dir, tmp_path, django_capture_on_commit_callbacks):
    earner, stranger = member_ids(family)[0], make_id_number(birth="19900307", seq=777)
    path = tmp_path / "wage.csv"
    path.write_text(
        "id_number,month,employer,gross_wage\n"
        f"{earner},2026-05,某公司,1000.29\n"
        f"{stranger},2026-05,某公司,800\n",  # nobody registered: kept with its identity number
        encoding="utf-8",
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = importer.import_file("wage", path, region_code=family.region_id[:6], period=AS_OF)
        assert stored_files(checks_dir) == {}  # nothing before the commit
    assert len(callbacks) == 1
    parquet = str(files.snapshot_path(outcome.snapshot))
    assert stored_files(checks_dir) == {parquet: ("wage", 2)}
    con = sqlite3.connect(rowstore.store_path(checks_dir))
    rows = con.execute(
        f"SELECT person_key, id_number, gross_wage FROM {rowstore.table_name('wage')} ORDER BY person_key"
    ).fetchall()
    con.close()
    # Matched rows are found by key (no number kept); the unmatched row keeps its number under key 0.
    assert rows == [(0, stranger, 800.0), (Person.objects.get(id_number=earner).pk, None, 1000.29)]


def test_amounts_are_exact_fen_at_the_window_as_in_the_batch(family, set_params, make_snapshot, authorised, officer):
    """SQLite holds money as a double: 1,000.29 × 100 is 100,028.99… there, and must still count as 100,029 fen."""
    set_params(dibao__standard_rural="600")
    earner = member_ids(family)[0]
    make_snapshot("wage", wages(earner, "1000.29"))
    make_snapshot("finance", [{"id_number": earner, "product": "deposit", "balance": "0.29", "annual_income": "0.07"}])
    authorised(family)
    result = services.check_household(family.pk, user=officer, as_of=AS_OF)
    assert result.counted_income == Decimal("1000.30")  # 1,000.29 wage + 0.07 / 12 interest, rounded half up
    assert batch_counted(family) == 100030
    assets = {e["item"]: e["amount"] for e in result.evidence if e["role"] == "financial_asset"}
    assert assets == {"deposit": "0.29"}


def test_a_rewritten_or_deleted_store_file_is_reloaded(
    family, set_params, make_snapshot, authorised, officer, checks_dir
):
    set_params(dibao__standard_rural="600")
    earner = member_ids(family)[0]
    snap = make_snapshot("wage", wages(earner, "900"))
    authorised(family)
    assert services.check_household(family.pk, user=officer, as_of=AS_OF).counted_income == Decimal("900.00")

    # The same file name with other content (a store keyed by name alone would serve the old rows).
    path = snapshot_path(snap)
    duckdb.execute(
        f"COPY (SELECT * REPLACE (CAST(gross_wage * 2 AS DECIMAL(18,2)) AS gross_wage) FROM read_parquet('{path}'))"
        f" TO '{path}.tmp' (FORMAT parquet)"
    )
    path.with_suffix(".parquet.tmp").replace(path)
    assert services.check_household(family.pk, user=officer, as_of=AS_OF).counted_income == Decimal("1800.00")

    # The store is derived data: deleting it costs a reload, not a wrong answer.
    for name in ("", "-wal", "-shm"):
        rowstore.store_path(checks_dir).with_name(rowstore.STORE_NAME + name).unlink(missing_ok=True)
    assert services.check_household(family.pk, user=officer, as_of=AS_OF).counted_income == Decimal("1800.00")
    assert list(stored_files(checks_dir).values()) == [("wage", 12)]


def deliver_wages(tmp_path, family, earner: str, amount: str, period, capture):
    """An import of the earner's twelve months of wages before `period`, committed (its store load run)."""
    path = tmp_path / f"wage-{period}-{amount}.csv"
    lines = [f"{earner},{r['month']:%Y-%m},某公司,{amount}" for r in wages(earner, amount, before=period)]
    path.write_text("id_number,month,employer,gross_wage\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with capture(execute=True):
        outcome = importer.import_file("wage", path, region_code=family.region_id[:6], period=period)
    return str(files.snapshot_path(outcome.snapshot))


def test_a_newer_delivery_drops_the_older_from_the_store(
    family, set_params, authorised, officer, checks_dir, tmp_path, django_capture_on_commit_callbacks
):
    set_params(dibao__standard_rural="600")
    earner = member_ids(family)[0]
    authorised(family)
    deliver = partial(deliver_wages, tmp_path, family, earner, capture=django_capture_on_commit_callbacks)
    older = deliver("1200", datetime.date(2026, 10, 1))
    assert stored_files(checks_dir) == {older: ("wage", 12)}
    newer = deliver("900", AS_OF)
    assert stored_files(checks_dir) == {newer: ("wage", 12)}
    con = sqlite3.connect(rowstore.store_path(checks_dir))
    assert con.execute(f"SELECT count(*) FROM {rowstore.table_name('wage')}").fetchone() == (12,)
    con.close()
    assert services.check_household(family.pk, user=officer, as_of=AS_OF).counted_income == Decimal("900.00")

    # Dated back to when the older delivery was in force: it is loaded again (11 of its months in the period).
    back = datetime.date(2026, 11, 1)
    assert services.check_household(family.pk, user=officer, as_of=back).counted_income == Decimal("1100.00")
    assert set(stored_files(checks_dir)) == {older, newer}

    # A back-filled earlier period supersedes nothing.
    earliest = deliver("100", datetime.date(2026, 6, 1))
    assert set(stored_files(checks_dir)) == {older, newer, earliest}


def test_a_file_dropped_while_a_check_reads_is_loaded_again(
    family, set_params, make_snapshot, authorised, officer, checks_dir, monkeypatch
):
    """The load of a newer delivery may drop a file between the window finding it and reading its rows."""
    set_params(dibao__standard_rural="600")
    snap = make_snapshot("wage", wages(member_ids(family)[0], "900"))
    authorised(family)
    found = rowstore.file_ids
    calls = []

    def found_then_dropped(store, snapshots):
        ids = found(store, snapshots)
        if not calls:
            rowstore.prune(store, [snapshot_path(snap)])
        calls.append(ids)
        return ids

    monkeypatch.setattr(rowstore, "file_ids", found_then_dropped)
    assert services.check_household(family.pk, user=officer, as_of=AS_OF).counted_income == Decimal("900.00")
    assert len(calls) == 2  # found, dropped, found again (loaded again)
    assert list(stored_files(checks_dir).values()) == [("wage", 12)]

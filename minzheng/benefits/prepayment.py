"""发放前比对 (DOMAIN.md §11): before a roll is approved every line is compared with the departmental data already
imported — deaths (户籍/殡葬), the public payroll where delivered, the other lines of the same benefit and month (any
household, any region), the account holder's name and the account number itself. Each hit holds the line with its
reason; officers release or stop it. Set-based: the facts are read from the snapshots with DuckDB, the comparisons
are SQL statements over all the run's lines at once, and the account numbers are checked as numpy arrays.
"""

import datetime
import re
from operator import itemgetter

import duckdb
import numpy as np
from django.db import connection

from minzheng.core.months import first_of_month, first_of_next_month
from minzheng.exchange.files import snapshot_path
from minzheng.exchange.models import Snapshot
from minzheng.policy.parameters import resolve
from minzheng.regions import codes
from minzheng.registry.models import Person

from . import bankfiles
from .models import RollFact

HOLD_LABELS = {
    "deceased": "领取人已死亡",
    "member_deceased": "家庭成员死亡，待复核",
    "public_payroll": "本人或家庭成员为财政供养人员",
    "duplicate": "同一人同月重复享受同一待遇",
    "holder_mismatch": "账户名与领取人不符",
    "no_account": "缺少银行账号",
    "bad_account": "银行账号格式错误或校验位不符",
}


def _snapshots(source: str, region_code: str, until: datetime.date) -> list[Snapshot]:
    low, high = codes.subtree_range(region_code)
    covering = Snapshot.objects.filter(source=source, period__lte=until).filter(
        region_id__in=codes.lineage(region_code)
    ) | Snapshot.objects.filter(source=source, period__lte=until, region_id__gte=low, region_id__lte=high)
    return list(covering.order_by("region_id", "-period", "-version", "-id"))


def _read(paths: list[str], sql: str) -> list[tuple]:
    existing = [p for p in paths if p]
    if not existing:
        return []
    con = duckdb.connect()
    try:
        files = ", ".join("'" + p.replace("'", "''") + "'" for p in existing)
        return con.execute(sql.format(files=f"read_parquet([{files}], union_by_name = true)")).fetchall()
    finally:
        con.close()


def gather_facts(run, region_code: str, month: datetime.date, *, hint: str = "") -> dict:
    """Deaths known by the end of the month (registry and every civil-status delivery) with the first month no
    longer payable under `payments.death_stop`, and the latest public-payroll delivery per covering region."""
    month_end = first_of_next_month(month) - datetime.timedelta(days=1)
    stop_rule = resolve("payments.death_stop", region_code, month).value
    deaths: dict[int, datetime.date] = {}
    low, high = codes.subtree_range(region_code)
    with connection.cursor() as cursor:
        # `hint` (rolls._scan_hint): a region holding most of the table is scanned in rowid order, not via its index.
        cursor.execute(
            "SELECT id, deceased_on FROM registry_person WHERE deceased_on IS NOT NULL AND deceased_on <= %s"
            f" AND {hint}region_id >= %s AND {hint}region_id <= %s",
            [month_end if connection.vendor == "postgresql" else month_end.isoformat(), low, high],
        )
        for pk, died in cursor.fetchall():
            deaths[pk] = died if isinstance(died, datetime.date) else datetime.date.fromisoformat(died)
    civil = [str(snapshot_path(s)) for s in _snapshots("civil_status", region_code, month_end)]
    for key, died in _read(
        civil,
        "SELECT person_key, min(event_on) FROM {files} WHERE event = 'death' AND person_key IS NOT NULL"
        f" AND event_on <= DATE '{month_end.isoformat()}' GROUP BY person_key",
    ):
        deaths[key] = min(died, deaths.get(key, died))
    newest: dict[str, Snapshot] = {}
    for snap in _snapshots("public_payroll", region_code, month_end):
        newest.setdefault(snap.region_id, snap)
    payroll = _read(
        [str(snapshot_path(s)) for s in newest.values()],
        "SELECT person_key, any_value(employer) FROM {files} WHERE person_key IS NOT NULL GROUP BY person_key",
    )
    known = set(Person.objects.filter(pk__in=list(deaths) + [k for k, _ in payroll]).values_list("id", flat=True))
    facts = [
        RollFact(
            run=run,
            person_id=pk,
            kind="death",
            from_month=first_of_month(died) if stop_rule == "this_month" else first_of_next_month(died),
            detail=f"死亡日期 {died.isoformat()}",
        )
        for pk, died in deaths.items()
        if pk in known
    ]
    facts += [
        RollFact(run=run, person_id=pk, kind="payroll", detail=f"财政供养：{employer or ''}"[:200])
        for pk, employer in payroll
        if pk in known
    ]
    RollFact.objects.bulk_create(facts, batch_size=2000)
    return {
        "deaths": sum(1 for f in facts if f.kind == "death"),
        "payroll": sum(1 for f in facts if f.kind == "payroll"),
        "payroll_delivered": bool(newest),
        "death_stop": stop_rule,
    }


# Each comparison as a condition on one line (`benefits_paymentline`), in the order its code is written to
# `hold_reasons`; all are evaluated in one pass over the run's lines (`apply_holds`).
_CONDITIONS = {
    "deceased": "EXISTS (SELECT 1 FROM benefits_rollfact f WHERE f.run_id = %(run)s AND f.kind = 'death'"
    " AND f.person_id = benefits_paymentline.person_id AND benefits_paymentline.month >= f.from_month)",
    # The households concerned are found once from the few facts (an uncorrelated IN, hashed); only their lines are
    # then compared member by member.
    "member_deceased": "benefits_paymentline.benefit IN %(household_benefits)s AND benefits_paymentline.household_id"
    " IN (SELECT m.household_id FROM benefits_rollfact f JOIN registry_membership m ON m.person_id = f.person_id"
    " WHERE f.run_id = %(run)s AND f.kind = 'death' AND m.left_on IS NULL) AND EXISTS (SELECT 1 FROM"
    " registry_membership m JOIN benefits_rollfact f ON f.person_id = m.person_id AND f.run_id = %(run)s"
    " AND f.kind = 'death' WHERE m.household_id = benefits_paymentline.household_id AND m.left_on IS NULL"
    " AND m.person_id <> benefits_paymentline.person_id AND benefits_paymentline.month >= f.from_month)",
    "public_payroll": "(EXISTS (SELECT 1 FROM benefits_rollfact f WHERE f.run_id = %(run)s AND f.kind = 'payroll'"
    " AND f.person_id = benefits_paymentline.person_id) OR (benefits_paymentline.benefit IN %(household_benefits)s"
    " AND benefits_paymentline.household_id IN (SELECT m.household_id FROM benefits_rollfact f JOIN"
    " registry_membership m ON m.person_id = f.person_id WHERE f.run_id = %(run)s AND f.kind = 'payroll'"
    " AND m.left_on IS NULL)))",
    # The index (benefit, month, recipient_id_number, entitlement) answers this without reading the line itself.
    "duplicate": "EXISTS (SELECT 1 FROM benefits_paymentline o WHERE o.benefit = benefits_paymentline.benefit"
    " AND o.month = benefits_paymentline.month AND o.recipient_id_number = benefits_paymentline.recipient_id_number"
    " AND o.entitlement_id <> benefits_paymentline.entitlement_id"
    " AND o.state NOT IN ('stopped', 'failed', 'reissued'))",
    "no_account": "benefits_paymentline.bank_account = ''",
    "holder_mismatch": "benefits_paymentline.bank_account <> ''"
    " AND benefits_paymentline.account_holder <> benefits_paymentline.recipient_name",
}


def _inline(condition: str, params: dict) -> tuple[str, list]:
    """Named parameters inside a condition become positional ones, in order (tuples expanded)."""
    values: list = []

    def one(match: re.Match) -> str:
        value = params[match.group(1)]
        if isinstance(value, tuple):
            values.extend(value)
            return "(" + ", ".join(["%s"] * len(value)) + ")"
        values.append(value)
        return "%s"

    return re.sub(r"%\((\w+)\)s", one, condition), values


def apply_holds(run_id: int, *, roll_ids: list[int] | None = None) -> dict[str, int]:
    """Hold the lines of the run's rolls (or of the given rolls) that a comparison flags; counts per reason.

    One SELECT evaluates every comparison on every line and returns only the flagged lines with their codes; one
    more reads the accounts for the format and Luhn checks (numpy); then the few flagged lines are written, grouped
    by their reasons — no pass over all the lines per reason."""
    from .kinds import TYPES

    if roll_ids is not None:
        scope = "roll_id IN (" + ", ".join(["%s"] * len(roll_ids)) + ")"
        scope_params = list(roll_ids)
    else:
        scope = "roll_id IN (SELECT id FROM benefits_paymentroll WHERE run_id = %s)"
        scope_params = [run_id]
    params = {
        "run": run_id,
        "household_benefits": tuple(t.code for t in TYPES.values() if not t.per_person),
    }
    flags, values = [], []
    for code, condition in _CONDITIONS.items():
        sql, condition_values = _inline(condition, params)
        flags.append(f"CASE WHEN {sql} THEN '{code},' ELSE '' END")
        values.extend(condition_values)
    reasons = " || ".join(flags)
    pending = "state IN ('pending', 'held')"
    found: dict[int, list[str]] = {}
    existing: dict[int, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, hold_reasons, codes FROM (SELECT id, hold_reasons, {reasons} AS codes FROM benefits_paymentline"
            f" WHERE {scope} AND {pending}) flagged WHERE codes <> ''",
            [*values, *scope_params],
        )
        for pk, before, codes in cursor.fetchall():
            found[pk] = codes.rstrip(",").split(",")
            existing[pk] = before
        cursor.execute(
            f"SELECT id, bank_name, bank_account FROM benefits_paymentline WHERE {scope}"
            f" AND bank_account <> '' AND {pending}",
            scope_params,
        )
        bad = bad_accounts(cursor.fetchall())
        unread = [pk for pk in bad if pk not in existing]
        for start in range(0, len(unread), 500):
            chunk = unread[start : start + 500]
            cursor.execute(
                "SELECT id, hold_reasons FROM benefits_paymentline WHERE id IN ("
                + ", ".join(["%s"] * len(chunk))
                + ")",
                chunk,
            )
            existing.update(cursor.fetchall())
        for pk in bad:
            found.setdefault(pk, []).append("bad_account")
        groups: dict[str, list[int]] = {}
        for pk, codes in found.items():
            text = ",".join([existing[pk], *codes]) if existing[pk] else ",".join(codes)
            groups.setdefault(text, []).append(pk)
        for text, ids in groups.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cursor.execute(
                    "UPDATE benefits_paymentline SET state = 'held', hold_reasons = %s WHERE id IN ("
                    + ", ".join(["%s"] * len(chunk))
                    + ")",
                    [text, *chunk],
                )
    counts = {code: 0 for code in [*_CONDITIONS, "bad_account"]}
    for codes in found.values():
        for code in codes:
            counts[code] += 1
    return counts


def bad_accounts(rows: list[tuple]) -> list[int]:
    """Ids of the (id, bank, account, …) rows whose account is not 8–30 ASCII digits, or fails the Luhn check where
    the bank's card numbers carry one (bank layouts: `luhn_lengths`). Column-wise: the accounts are joined into one
    byte buffer and every test is a numpy operation over it (no Python step per account)."""
    if not rows:
        return []
    n = len(rows)
    ids = np.fromiter(map(itemgetter(0), rows), dtype=np.int64, count=n)
    banks, accounts = list(map(itemgetter(1), rows)), list(map(itemgetter(2), rows))
    lengths = np.fromiter(map(len, accounts), dtype=np.int64, count=n)
    joined = "".join(accounts)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    if joined.isascii():
        buf = np.frombuffer(joined.encode(), dtype=np.uint8)
        # Non-digits counted per account as differences of a running count over the buffer.
        running = np.zeros(buf.size + 1, dtype=np.int64)
        np.cumsum((buf - np.uint8(48)) > 9, out=running[1:])
        digits_only = running[starts + lengths] == running[starts]
    else:  # some account has a non-ASCII character: the slow path, account by account
        buf = None
        digits_only = np.fromiter((a.isascii() and a.isdigit() for a in accounts), dtype=bool, count=n)
    bad = ~digits_only | (lengths < 8) | (lengths > 30)
    luhn_banks = bankfiles.luhn_lengths()
    default = luhn_banks.get("*", ())
    checked = np.zeros(n, dtype=bool)
    bank_array = np.asarray(banks, dtype=object)
    for bank in set(banks):
        wanted_lengths = luhn_banks.get(bank, default)
        if wanted_lengths:
            checked |= (bank_array == bank) & np.isin(lengths, wanted_lengths)
    for length in sorted({n for ns in luhn_banks.values() for n in ns}):
        wanted = np.nonzero(checked & ~bad & (lengths == length))[0]
        if not wanted.size:
            continue
        if buf is not None:
            digits = buf[starts[wanted][:, None] + np.arange(length)].astype(np.int32) - 48
        else:
            raw = "".join(accounts[i] for i in wanted).encode()
            digits = np.frombuffer(raw, dtype=np.uint8).reshape(-1, length).astype(np.int32) - 48
        digits = digits[:, ::-1]
        doubled = digits[:, 1::2] * 2
        doubled = np.where(doubled > 9, doubled - 9, doubled)
        total = digits[:, 0::2].sum(axis=1) + doubled.sum(axis=1)
        bad[wanted[total % 10 != 0]] = True
    return ids[bad].tolist()


def luhn_valid(number: str) -> bool:
    """One account's Luhn check (the same arithmetic as `bad_accounts`), for forms and tests."""
    from stdnum import luhn

    return luhn.is_valid(number)

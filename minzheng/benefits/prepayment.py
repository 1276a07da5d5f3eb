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

from minzheng.core.batching import in_batches
from minzheng.core.months import first_of_month, first_of_next_month
from minzheng.exchange.files import snapshot_path
from minzheng.exchange.models import Snapshot
from minzheng.policy.parameters import resolve
from minzheng.regions import codes
from minzheng.registry.models import Person

from . import bankfiles, wide
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


# The comparisons, in the order their codes are written to `hold_reasons`.
CODES = (
    "deceased",
    "member_deceased",
    "public_payroll",
    "duplicate",
    "no_account",
    "holder_mismatch",
    "bad_account",
)

# Another live line of the same benefit and month pays the same person under another entitlement (any household,
# any region; one identity number is one person in the registry). The index (benefit, month, person, entitlement)
# answers it without reading the line.
_DUPLICATE = (
    "EXISTS (SELECT 1 FROM benefits_paymentline o WHERE o.benefit = benefits_paymentline.benefit"
    " AND o.month = benefits_paymentline.month AND o.person_id = benefits_paymentline.person_id"
    " AND o.entitlement_id <> benefits_paymentline.entitlement_id"
    " AND o.state NOT IN ('stopped', 'failed', 'reissued'))"
)

# What a line's own columns tell, evaluated in one pass over the run's lines; `{owed}` selects the lines whose
# month is not their roll's (owed months, reissued lines: few) — each compared with the other lines here, while the
# roll's own month is compared once for all its lines in `_duplicates`.
_PER_LINE = {
    "duplicate": "{owed} AND " + _DUPLICATE,
    "no_account": "benefits_paymentline.bank_account = ''",
    "holder_mismatch": "benefits_paymentline.bank_account <> ''"
    " AND benefits_paymentline.account_holder <> benefits_paymentline.recipient_name",
}

# What the facts tell (deaths, public payroll: a few hundred people a month), found from the facts: each fact's
# person → the households they belong or belonged to → those households' entitlements → their lines in the run
# (the (entitlement, month) index). The cost follows the facts, not the million lines. `{lines}` narrows to the
# run's pending or held lines.
_FROM_FACTS = {
    # The recipient died: lines of the months from the one the death stops.
    "deceased": "f.kind = 'death' AND l.person_id = f.person_id AND l.month >= f.from_month",
    # Another current member of a household benefit's household died: the household is to be reviewed.
    "member_deceased": "f.kind = 'death' AND m.left_on IS NULL AND e.benefit IN %(household_benefits)s"
    " AND l.person_id <> f.person_id AND l.month >= f.from_month",
    # The recipient, or a current member of a household benefit's household, is on the public payroll.
    "public_payroll": "f.kind = 'payroll' AND (l.person_id = f.person_id"
    " OR (m.left_on IS NULL AND e.benefit IN %(household_benefits)s))",
}
_FACT_LINES = (
    "SELECT DISTINCT l.id FROM benefits_rollfact f JOIN registry_membership m ON m.person_id = f.person_id"
    " JOIN benefits_entitlement e ON e.household_id = m.household_id"
    " JOIN benefits_paymentline l ON l.entitlement_id = e.id"
    " WHERE f.run_id = %(run)s AND {lines} AND ({condition})"
)


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

    One SELECT over the lines evaluates the per-line comparisons and returns only the flagged lines; the duplicates
    of the rolls' own month come from one ordered pass over their index (`_duplicates`); one query per kind of fact
    finds the lines the facts concern; one more reads every account as a few long strings for the
    format and Luhn checks (numpy). Then the few flagged lines are written, grouped by their reasons."""
    from .kinds import TYPES

    if roll_ids is not None:
        marks = ", ".join(["%s"] * len(roll_ids))
        rolls, scope, scope_params = f"id IN ({marks})", f"roll_id IN ({marks})", list(roll_ids)
    else:
        rolls, scope = "run_id = %s", "roll_id IN (SELECT id FROM benefits_paymentroll WHERE run_id = %s)"
        scope_params = [run_id]
    params = {"run": run_id, "household_benefits": tuple(t.code for t in TYPES.values() if not t.per_person)}
    pending = "state IN ('pending', 'held')"
    found: dict[int, set[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT benefit, month FROM benefits_paymentroll WHERE {rolls}", scope_params)
        roll_months = cursor.fetchall()
        months = {m for _, m in roll_months}
        owed = "benefits_paymentline.month <> %s" if len(months) == 1 else "1 = 1"
        flags = " || ".join(f"CASE WHEN {sql} THEN '{code},' ELSE '' END" for code, sql in _PER_LINE.items())
        cursor.execute(
            f"SELECT id, codes FROM (SELECT id, {flags.format(owed=owed)} AS codes FROM benefits_paymentline"
            f" WHERE {scope} AND {pending}) flagged WHERE codes <> ''",
            [*months, *scope_params] if len(months) == 1 else scope_params,
        )
        for pk, codes in cursor.fetchall():
            found[pk] = set(codes.rstrip(",").split(","))
        if len(months) == 1:
            for pk in _duplicates(cursor, roll_months, scope, scope_params, pending):
                found.setdefault(pk, set()).add("duplicate")
        lines = f"l.{scope} AND l.{pending}"
        for code, condition in _FROM_FACTS.items():
            sql, values = _inline(_FACT_LINES.format(lines=lines, condition=condition), params)
            # Placeholders in statement order: run, the scope's, the condition's.
            cursor.execute(sql, [values[0], *scope_params, *values[1:]])
            for (pk,) in cursor.fetchall():
                found.setdefault(pk, set()).add(code)
        for pk in _bad_account_lines(cursor, scope, scope_params, pending):
            found.setdefault(pk, set()).add("bad_account")
        existing: dict[int, str] = {}
        for chunk in in_batches(found):
            cursor.execute(
                "SELECT id, hold_reasons FROM benefits_paymentline WHERE id IN ("
                + ", ".join(["%s"] * len(chunk))
                + ")",
                chunk,
            )
            existing.update(cursor.fetchall())
        groups: dict[str, list[int]] = {}
        for pk, codes in found.items():
            before = [c for c in existing[pk].split(",") if c]
            text = ",".join(before + [c for c in CODES if c in codes and c not in before])
            groups.setdefault(text, []).append(pk)
        for text, ids in groups.items():
            for chunk in in_batches(ids):
                cursor.execute(
                    "UPDATE benefits_paymentline SET state = 'held', hold_reasons = %s WHERE id IN ("
                    + ", ".join(["%s"] * len(chunk))
                    + ")",
                    [text, *chunk],
                )
    counts = dict.fromkeys(CODES, 0)
    for codes in found.values():
        for code in codes:
            counts[code] += 1
    return counts


def _duplicates(cursor, roll_months: list[tuple], scope: str, scope_params: list, pending: str) -> list[int]:
    """The duplicate comparison for the lines of their roll's own month: the recipients with more than one
    entitlement in that benefit and month are read in one ordered pass over the index (no line read, no probe per
    line); only those recipients' lines are then compared line by line."""
    flagged = []
    for benefit, month in roll_months:
        cursor.execute(
            "SELECT person_id FROM benefits_paymentline WHERE benefit = %s AND month = %s"
            " GROUP BY person_id HAVING min(entitlement_id) <> max(entitlement_id)",
            [benefit, month],
        )
        candidates = [person for (person,) in cursor.fetchall() if person is not None]
        for chunk in in_batches(candidates):
            cursor.execute(
                f"SELECT id FROM benefits_paymentline WHERE {scope} AND {pending} AND benefit = %s AND month = %s"
                " AND person_id IN (" + ", ".join(["%s"] * len(chunk)) + f") AND {_DUPLICATE}",
                [*scope_params, benefit, month, *chunk],
            )
            flagged += [pk for (pk,) in cursor.fetchall()]
    return flagged


def _bad_account_lines(cursor, scope: str, scope_params: list, pending: str) -> list[int]:
    """The lines whose account fails `bad_accounts`, read as a few long strings (`wide`); the bank names only where
    a bank has a rule of its own."""
    width = wide.id_width(cursor, "benefits_paymentline")
    columns = [wide.integer("id", width), wide.integer("length(bank_account)", 2), "bank_account"]
    per_bank = bool(set(bankfiles.luhn_lengths()) - {"*"})
    if per_bank:
        columns.append("bank_name")
    ids, lengths, accounts, *banks = wide.fetch(
        cursor, columns, f"FROM benefits_paymentline WHERE {scope} AND bank_account <> '' AND {pending}", scope_params
    )
    if not ids:
        return []
    ids = wide.integers(ids, width)
    names = wide.texts(banks[0]) if per_bank else [""] * len(ids)
    return _bad(ids, names, "".join(wide.texts(accounts)), wide.integers(lengths, 2))


def bad_accounts(rows: list[tuple]) -> list[int]:
    """Ids of the (id, bank, account, …) rows whose account is not 8–30 ASCII digits, or fails the Luhn check where
    the bank's card numbers carry one (bank layouts: `luhn_lengths`)."""
    if not rows:
        return []
    n = len(rows)
    accounts = list(map(itemgetter(2), rows))
    return _bad(
        np.fromiter(map(itemgetter(0), rows), dtype=np.int64, count=n),
        list(map(itemgetter(1), rows)),
        "".join(accounts),
        np.fromiter(map(len, accounts), dtype=np.int64, count=n),
    )


def _bad(ids: np.ndarray, banks: list[str], joined: str, lengths: np.ndarray) -> list[int]:
    """`bad_accounts` column-wise: the accounts are one string (`joined`, with each one's length) and every test is
    a numpy operation over its bytes (no Python step per account)."""
    n = len(ids)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    if joined.isascii():
        buf = np.frombuffer(joined.encode(), dtype=np.uint8)
        # Non-digits counted per account: one sum over each account's stretch of the buffer (empty accounts have
        # none and are too short anyway).
        digits_only = np.zeros(n, dtype=bool)
        filled = lengths > 0
        if buf.size:
            digits_only[filled] = np.add.reduceat((buf - np.uint8(48)) > 9, starts[filled], dtype=np.int32) == 0
    else:  # some account has a non-ASCII character: the slow path, account by account
        buf = None
        accounts = [joined[a : a + b] for a, b in zip(starts.tolist(), lengths.tolist(), strict=True)]
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
            raw = "".join(accounts[i] for i in wanted.tolist()).encode()
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

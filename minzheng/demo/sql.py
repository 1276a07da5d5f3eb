"""The SQL toolkit every demo generator shares (DuckDB): deterministic draws that are hashes of a stable key and the
seed (so the same population and seed give byte-identical files on SQLite and PostgreSQL), valid identifiers, and one
way of writing a department's delivery — some unknown people and some rows spoilt the ways staff files are spoilt.

The identity number's check character is `registry.identifiers.id_check_char_sql`: the one definition the
importer's validation uses too.
"""

import datetime
from pathlib import Path

import duckdb

from minzheng.exchange.sources import Source
from minzheng.registry.identifiers import id_check_char_sql

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in items) + "]"


def pick(items: list[str], key: str, tag: str) -> str:
    """One of `items`, chosen by a hash of `key` (a SQL expression)."""
    return f"{sql_list(items)}[1 + CAST(hash({key}, '{tag}', getvariable('seed')) % {len(items)} AS INTEGER)]"


def hash_key(columns: list[str]) -> str:
    return f"hash({', '.join(columns)}, getvariable('seed'))"


def macros(con: duckdb.DuckDBPyConnection, seed: int, ref: datetime.date, **variables) -> None:
    """Deterministic randomness: u() uniform in (0, 1), nrm() standard normal (Box–Muller), both hashes of a key;
    money, dates and identifiers; `variables` become DuckDB variables (getvariable)."""
    con.execute(f"SET VARIABLE seed = {int(seed)}")
    con.execute(f"SET VARIABLE ref = DATE '{ref.isoformat()}'")
    for name, value in variables.items():
        literal = f"DATE '{value.isoformat()}'" if isinstance(value, datetime.date) else repr(value)
        con.execute(f"SET VARIABLE {name} = {literal}")
    org_sum = " + ".join(
        f"CAST(substr(b, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate((3, 7, 9, 10, 5, 8, 4, 2))
    )
    uscc_sum = " + ".join(
        f"(position(substr(b, {i + 1}, 1) IN '{USCC_ALPHABET}') - 1) * {pow(3, i, 31)}" for i in range(17)
    )
    con.execute(
        f"""
        CREATE OR REPLACE MACRO u(k, tag) AS (CAST(hash(k, tag, getvariable('seed')) % 1000000 AS DOUBLE) + 0.5) / 1e6;
        CREATE OR REPLACE MACRO nrm(k, tag) AS sqrt(-2.0 * ln(u(k, tag || '.1'))) * cos(2.0 * pi() * u(k, tag || '.2'));
        CREATE OR REPLACE MACRO clamp(x, lo, hi) AS greatest(lo, least(hi, x));
        CREATE OR REPLACE MACRO yuan(x) AS CAST(round(x, 2) AS DECIMAL(18, 2));
        CREATE OR REPLACE MACRO lognormal(median, sigma, k, tag) AS exp(ln(median) + sigma * nrm(k, tag));
        CREATE OR REPLACE MACRO days_back(k, tag, lo, hi) AS
            CAST(getvariable('ref') - CAST(lo + floor(u(k, tag) * (hi - lo)) AS INTEGER) AS DATE);
        CREATE OR REPLACE MACRO id_check(b) AS {id_check_char_sql("b")};
        CREATE OR REPLACE MACRO org_code(b) AS b || CASE (11 - ({org_sum}) % 11) % 11 WHEN 10 THEN 'X'
            ELSE CAST((11 - ({org_sum}) % 11) % 11 AS VARCHAR) END;
        CREATE OR REPLACE MACRO uscc(b) AS b || substr('{USCC_ALPHABET}', (31 - ({uscc_sum}) % 31) % 31 + 1, 1);
        CREATE OR REPLACE MACRO digits(k, tag, n) AS lpad(CAST(hash(k, tag, getvariable('seed')) % CAST(pow(10, n) AS UBIGINT)
            AS VARCHAR), n, '0');
        """
    )


def text_columns(spec: Source, chinese: bool = False) -> list[tuple[str, str, str]]:
    """(field name, label, SQL text expression) per field of a source, in declared order. `chinese`: coded values as
    their Chinese labels (存续, 小型汽车), as staff spreadsheets have them; machine deliveries keep the codes."""
    out = []
    for f in spec.fields:
        if f.kind == "date":
            expr = f"strftime({f.name}, '%Y-%m-%d')"
        elif f.kind == "month":
            expr = f"strftime({f.name}, '%Y-%m')"
        elif f.kind == "code" and chinese:
            whens = " ".join(f"WHEN '{value}' THEN '{label}'" for value, label in f.choices.items())
            expr = f"CASE CAST({f.name} AS VARCHAR) {whens} ELSE CAST({f.name} AS VARCHAR) END"
        else:
            expr = f"CAST({f.name} AS VARCHAR)"
        out.append((f.name, f.label, expr))
    return out


def delivery_sql(spec: Source, *, chinese: bool, tag: str = "", earlier: str = "") -> str:
    """The rows of `src_<code>` as a department delivers them: text columns in declared order, in the department's own
    row order, with some people the registry does not know (getvariable('unmatched_share')) and some malformed rows
    (getvariable('malformed_share')). `tag` prefixes the draws' tags (one generator's draws never repeat another's);
    `earlier` names a table of rows the department delivered before (the source's fields), added unspoilt."""
    code = spec.code
    columns = text_columns(spec, chinese)
    names = [name for name, _, _ in columns]
    money = next((f.name for f in spec.fields if f.kind == "money"), None)
    dated = next((f for f in spec.fields if f.kind in ("date", "month")), None)
    text = ", ".join(f"{expr} AS {name}" for name, _, expr in columns)
    spoil = {
        # a wrong check digit, an old 15-digit number, an impossible date, text in an amount
        "id_number": (
            "CASE bad WHEN 0 THEN substr(id_number, 1, 17) || CASE substr(id_number, 18, 1) WHEN '0' THEN '1' ELSE '0' END"
            " WHEN 1 THEN substr(id_number, 1, 6) || substr(id_number, 9, 9) ELSE id_number END"
        )
    }
    if dated is not None:
        impossible = "'13'" if dated.kind == "month" else "'02-30'"
        spoil[dated.name] = f"CASE WHEN bad = 2 THEN substr({dated.name}, 1, 5) || {impossible} ELSE {dated.name} END"
    if money is not None:
        spoil[money] = f"CASE WHEN bad = 3 THEN '约' || {money} || '元' ELSE {money} END"
    spoilt = ", ".join(f"CASE WHEN bad IS NULL THEN {n} ELSE {spoil[n]} END AS {n}" if n in spoil else n for n in names)
    row_key = hash_key([*names, f"'{tag}{code}'"])
    again = f"UNION ALL SELECT {', '.join(names)}, {row_key} AS k, NULL AS bad FROM (SELECT {text} FROM {earlier})"
    return f"""
        WITH t AS (SELECT id_number, person_key, {text} FROM src_{code}),
        fake AS (
            SELECT * REPLACE (b || id_check(b) AS id_number) FROM (
                SELECT *, substr(id_number, 1, 14) || '9' || digits(id_number, '{tag}unmatched_seq', 2) AS b
                FROM t WHERE u(id_number, '{tag}unmatched.{code}') < getvariable('unmatched_share')
            )
        ),
        rows AS (
            SELECT {", ".join(names)} FROM t
            UNION ALL
            SELECT {", ".join(names)} FROM fake f WHERE NOT EXISTS (SELECT 1 FROM members_in m WHERE m.id_number = f.id_number)
        ),
        judged AS (
            SELECT *, {row_key} AS k,
                   CASE WHEN u(CAST({row_key} AS VARCHAR), '{tag}malformed') < getvariable('malformed_share')
                        THEN CAST(hash(CAST({row_key} AS VARCHAR), '{tag}how', getvariable('seed')) % 4 AS INTEGER) END AS bad
            FROM rows
            {again if earlier else ""}
        )
        SELECT {spoilt} FROM judged ORDER BY k, {", ".join(names)}
    """


def write_delivery(
    con: duckdb.DuckDBPyConnection, spec: Source, path: Path, file_format: str, *, tag: str = "", earlier: str = ""
) -> int:
    """Write one source's delivery file — CSV or xlsx with the Chinese column labels and coded values as labels,
    Parquet with field names and codes — and return its rows."""
    labels = {name: label for name, label, _ in text_columns(spec)}
    query = delivery_sql(spec, chinese=file_format != "parquet", tag=tag, earlier=earlier)
    con.execute(f"CREATE OR REPLACE TEMP TABLE delivery AS {query}")
    target = str(path).replace("'", "''")
    if file_format == "parquet":
        con.execute(f"COPY delivery TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    elif file_format == "csv":
        labelled = ", ".join(f'{name} AS "{label}"' for name, label in labels.items())
        con.execute(f"COPY (SELECT {labelled} FROM delivery) TO '{target}' (FORMAT csv, HEADER true)")
    else:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet(spec.name[:31].replace("/", "、"))
        sheet.write_row(0, 0, list(labels.values()))
        cursor = con.execute("SELECT * FROM delivery")
        row = 1
        while batch := cursor.fetchmany(50_000):
            for values in batch:
                sheet.write_row(row, 0, ["" if v is None else v for v in values])
                row += 1
        book.close()
    return con.execute("SELECT count(*) FROM delivery").fetchall()[0][0]

"""Validating a delivery in SQL: headers mapped to the source's fields, every field normalised, each row given at most
one Chinese reason (the first failing field in declared order), duplicates after normalisation rejected.

The identity number's checks run in SQL in the same order and with the same wording as
`registry.identifiers.parse_identity_number` (`identity_reasons` proves it).
"""

import datetime
import re
import unicodedata
from functools import lru_cache

import pyarrow as pa
from django.utils import timezone
from stdnum import numdb

from minzheng.core.errors import DomainError
from minzheng.registry.identifiers import fold_input, id_check_char_sql

from . import sources
from .sources import Field, Source
from .workspace import Workspace, lit, qi

# NFKC maps the full-width forms U+FF01–U+FF5E onto ASCII U+0021–U+007E and the ideographic space onto a space.
_FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_FOLD_TABLE = str.maketrans(_FULL_WIDTH, _HALF_WIDTH)
# `identifiers.fold_input`'s separators. RE2's \s is ASCII-only, so Python's ASCII whitespace is spelled out; any
# other non-ASCII character left after folding sends the value to fold_input itself (see `validate`).
_ID_SEPARATORS = r"[\t\n\x{0B}\x{0C}\r\x{1C}-\x{1F} _.\-‐‑‒–—―·]"

MSG_OLD_ID = "不支持15位旧版身份证号码，请使用18位公民身份号码（可在户籍地公安机关查询）"


def header_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).lower()


@lru_cache(maxsize=1)
def known_area_codes() -> tuple[str, ...]:
    """Every county code stdnum's GB/T 2260 history knows in any period: the set `identifiers._area_known` accepts."""
    found: set[str] = set()

    def walk(nodes, prefix: str) -> None:
        for length, low, high, props, children in nodes:
            for value in range(int(low), int(high) + 1):
                code = prefix + str(value).zfill(length)
                if "county" in props and len(code) == 6:
                    found.add(code)
                walk(children, code)

    walk(numdb.get("cn/loc").prefixes, "")
    return tuple(sorted(found))


def map_columns(spec: Source, columns: list[str]) -> dict[str, str]:
    """Field name -> raw column, matching headers by field name or Chinese label (full-/half-width alike)."""
    keys: dict[str, Field] = {}
    for f in spec.fields:
        keys[header_key(f.name)] = f
        keys[header_key(f.label)] = f
    mapping: dict[str, str] = {}
    for column in columns:
        f = keys.get(header_key(column))
        if f is None:
            continue
        if f.name in mapping:
            raise DomainError(
                f"“{f.label}”列出现了两次（“{mapping[f.name]}”和“{column}”），请只保留一列", "duplicate_column"
            )
        mapping[f.name] = column
    missing = [f for f in spec.fields if f.required and f.name not in mapping]
    if missing:
        listed = "、".join(f"{f.label}（{f.name}）" for f in missing)
        raise DomainError(
            f"缺少必填列：{listed}。{spec.name}数据应包含列："
            + "、".join(f.label + ("" if f.required else "（可选）") for f in spec.fields),
            "missing_columns",
            missing=[f.name for f in missing],
        )
    return mapping


def _fold(expr: str) -> str:
    """Full-width forms to ASCII (what NFKC does to them), then trimmed; empty becomes NULL."""
    return f"NULLIF(trim({_full_width_to_ascii(expr)}), '')"


def _full_width_to_ascii(expr: str) -> str:
    # `translate` is slow per character, so only values holding a non-ASCII character go through it.
    return (
        f"CASE WHEN regexp_matches({expr}, '[^\\x00-\\x7F]')"
        f" THEN translate({expr}, {lit(_FULL_WIDTH)}, {lit(_HALF_WIDTH)}) ELSE {expr} END"
    )


_DATE_RE = r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T]00:00(?::00(?:\.0+)?)?)?$"
_MONTH_RE = r"^([0-9]{4})[-/.年]([0-9]{1,2})月?$"


def _date_expr(v: str) -> str:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or YYYYMMDD (a midnight time part is tolerated) -> DATE."""
    return (
        f"CAST(CASE WHEN regexp_full_match({v}, '[0-9]{{8}}') THEN try_strptime({v}, '%Y%m%d')"
        f" WHEN regexp_matches({v}, {lit(_DATE_RE)})"
        f" THEN try_strptime(regexp_replace({v}, {lit(_DATE_RE)}, '\\1-\\2-\\3'), '%Y-%m-%d') END AS DATE)"
    )


def _month_expr(v: str) -> str:
    """YYYY-MM, YYYY/MM, YYYY年M月, YYYYMM, or any accepted date -> the first day of that month."""
    return (
        f"CAST(CASE WHEN regexp_full_match({v}, '[0-9]{{6}}') THEN try_strptime({v}, '%Y%m')"
        f" WHEN regexp_matches({v}, {lit(_MONTH_RE)})"
        f" THEN try_strptime(regexp_replace({v}, {lit(_MONTH_RE)}, '\\1-\\2'), '%Y-%m')"
        f" ELSE date_trunc('month', {_date_expr(v)}) END AS DATE)"
    )


def _field_sql(f: Field, column: str | None, index: int, today: str) -> tuple[str, str, str]:
    """(clean text expr over `src`, typed value expr over `clean`, reason expr over `typed`) for one field."""
    c, v = f"c{index}", f"v{index}"
    label = f.label
    if column is None:
        return "CAST(NULL AS VARCHAR)", f"CAST(NULL AS {f.sql_type})", "CAST(NULL AS VARCHAR)"
    raw = qi(column)
    required = f"WHEN {c} IS NULL THEN {lit(label + '：必须填写')}" if f.required else f"WHEN {c} IS NULL THEN NULL"
    if f.kind == "text":
        return f"NULLIF(trim({raw}), '')", c, f"CASE {required} END"
    if f.kind == "code":
        folded = {code: label_.translate(_FOLD_TABLE) for code, label_ in f.choices.items()}
        whens = " ".join(f"WHEN lower({c}) = {lit(code.lower())} THEN {lit(code)}" for code in f.choices)
        whens += " " + " ".join(f"WHEN {c} = {lit(text)} THEN {lit(code)}" for code, text in folded.items())
        allowed = "、".join(f.choices.values())
        reason = (
            f"CASE {required} WHEN {v} IS NULL THEN {lit(label + '：“')} || {c} || "
            f"{lit('”不在规定取值内（可填：' + allowed + '，或其代码）')} END"
        )
        return _fold(raw), f"CASE {whens} END", reason
    if f.kind == "money":
        clean = f"NULLIF(replace(replace({_fold(raw)}, ',', ''), ' ', ''), '')"
        shape = r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
        value = (
            f"CASE WHEN regexp_full_match({c}, {lit(shape)})"
            f" AND length(rtrim(split_part({c}, '.', 2), '0')) <= 2 THEN TRY_CAST({c} AS DECIMAL(18,2)) END"
        )
        reason = (
            f"CASE {required}"
            f" WHEN NOT regexp_full_match({c}, {lit(shape)}) THEN {lit(label + '：“')} || {c} || {lit('”不是有效的金额数字')}"
            f" WHEN length(rtrim(split_part({c}, '.', 2), '0')) > 2 THEN {lit(label + '：金额最多保留两位小数，实为“')} || {c} || '”'"
            f" WHEN {v} IS NULL THEN {lit(label + '：金额过大')}"
            f" WHEN {v} < 0 THEN {lit(label + '：金额不能为负数，实为')} || {c} END"
        )
        return clean, value, reason
    if f.kind == "int":
        value = f"CASE WHEN regexp_full_match({c}, '-?[0-9]+') THEN TRY_CAST({c} AS INTEGER) END"
        reason = f"CASE {required} WHEN {v} IS NULL THEN {lit(label + '：“')} || {c} || {lit('”不是有效的整数')} END"
        return _fold(raw), value, reason
    if f.kind in ("date", "month"):
        is_month = f.kind == "month"
        value = _month_expr(c) if is_month else _date_expr(c)
        shape = (
            "年月格式不正确（应为YYYY-MM、YYYYMM或YYYY-MM-DD）"
            if is_month
            else "日期格式不正确或日期不存在（应为YYYY-MM-DD、YYYY/MM/DD或YYYYMMDD）"
        )
        late = "不能晚于本月" if is_month else "不能晚于今天"
        reason = (
            f"CASE {required} WHEN {v} IS NULL THEN {lit(label + '：“')} || {c} || {lit('”' + shape)}"
            f" WHEN {v} > {today} THEN {lit(label + '：')} || strftime({v}, '%Y-%m-%d') || {lit(late)}"
            f" WHEN year({v}) < 1890 THEN {lit(label + '：')} || strftime({v}, '%Y-%m-%d') || {lit('不合理')} END"
        )
        return _fold(raw), value, reason
    raise AssertionError(f"unhandled field kind {f.kind}")


def _id_reason_sql(n: str, birth: str, area_known: str, today: str) -> str:
    """The reason `parse_identity_number` would give, checked in the same order; NULL when the number is valid."""
    return (
        "CASE"
        f" WHEN {n} IS NULL OR {n} = '' THEN '请填写公民身份号码'"
        f" WHEN length({n}) = 15 AND regexp_full_match({n}, '[0-9]{{15}}') THEN {lit(MSG_OLD_ID)}"
        f" WHEN length({n}) <> 18 THEN '公民身份号码应为18位，您输入了' || length({n}) || '位'"
        f" WHEN NOT regexp_full_match({n}, '[0-9]{{17}}[0-9X]') THEN '公民身份号码只能由数字和末位的X组成'"
        f" WHEN substr({n}, 18, 1) <> {id_check_char_sql(n)} THEN '公民身份号码校验位不正确，请核对是否输错'"
        f" WHEN {birth} IS NULL THEN '公民身份号码中的出生日期不存在'"
        f" WHEN {birth} > {today} THEN '公民身份号码中的出生日期晚于今天'"
        f" WHEN year({birth}) < 1890 THEN '公民身份号码中的出生日期不合理'"
        f" WHEN NOT {area_known} THEN '公民身份号码的地址码“' || substr({n}, 1, 6) || '”不是有效的行政区划代码'"
        " END"
    )


def _id_birth_sql(n: str) -> str:
    # Year 0000 is no date (Python's date() refuses it); DuckDB would read it as 1 BC.
    return (
        f"CASE WHEN regexp_full_match({n}, '[0-9]{{17}}[0-9X]') AND substr({n}, 7, 4) <> '0000'"
        f" THEN CAST(try_strptime(substr({n}, 7, 8), '%Y%m%d') AS DATE) END"
    )


def _id_fold_sql(expr: str) -> str:
    value = f"coalesce({expr}, '')"
    return f"upper(regexp_replace({_full_width_to_ascii(value)}, {lit(_ID_SEPARATORS)}, '', 'g'))"


def validate(
    ws: Workspace, spec: Source, mapping: dict[str, str], today: datetime.date, *, dedupe: bool = True
) -> None:
    """Build `checked(row_no, reason, n, v1..vk)`: one row per non-blank data row, reason NULL when valid."""
    con = ws.con
    today_sql = f"DATE {lit(today.isoformat())}"
    con.register("known_areas_in", pa.table({"code": pa.array(known_area_codes(), pa.string())}))
    con.execute("CREATE TABLE known_areas AS SELECT code FROM known_areas_in")
    con.unregister("known_areas_in")

    id_column = qi(mapping["id_number"])
    blank = " AND ".join(f"NULLIF(trim({qi(c)}), '') IS NULL" for c in ws.columns)
    con.execute(
        f"CREATE TABLE src AS SELECT rowid + 1 AS __row_no, *, {_id_fold_sql(id_column)} AS __id FROM raw"
        f" WHERE NOT ({blank})"
    )
    # Values the SQL fold leaves non-ASCII (other compatibility characters) get Python's NFKC fold, so the result is
    # exactly `fold_input`'s; there are normally none.
    odd = con.execute(f"SELECT DISTINCT {id_column} FROM src WHERE regexp_matches(__id, '[^\\x00-\\x7F]')").fetchall()
    con.execute("CREATE TABLE id_fallback (raw VARCHAR, folded VARCHAR)")
    if odd:
        con.executemany("INSERT INTO id_fallback VALUES (?, ?)", [(r[0], fold_input(r[0])) for r in odd])

    others = [f for f in spec.fields if f.name != "id_number"]
    parts = [_field_sql(f, mapping.get(f.name), i, today_sql) for i, f in enumerate(others, start=1)]
    cleans = ", ".join(f"{clean} AS c{i}" for i, (clean, _, _) in enumerate(parts, start=1))
    values = ", ".join(f"{value} AS v{i}" for i, (_, value, _) in enumerate(parts, start=1))
    reasons = ", ".join(reason for _, _, reason in parts)
    v_columns = ", ".join(f"v{i}" for i in range(1, len(parts) + 1))
    con.execute(
        f"""
        CREATE TABLE checked AS
        WITH clean AS (
            SELECT s.__row_no AS row_no, CASE WHEN f.raw IS NOT NULL THEN f.folded ELSE s.__id END AS n{", " + cleans if parts else ""}
            FROM src s LEFT JOIN id_fallback f ON f.raw = s.{id_column}
        ), typed AS (
            SELECT *, {_id_birth_sql("n")} AS birth{", " + values if parts else ""} FROM clean
        ), judged AS (
            SELECT t.*, coalesce({_id_reason_sql("t.n", "t.birth", "(a.code IS NOT NULL)", today_sql)}
                                 {", " + reasons if parts else ""}) AS reason
            FROM typed t LEFT JOIN known_areas a ON a.code = substr(t.n, 1, 6)
        )
        SELECT row_no, n{", " + v_columns if parts else ""},
               CASE WHEN reason IS NOT NULL THEN reason
                    WHEN {"first_row < row_no" if dedupe else "false"} THEN '与第' || first_row || '行重复' END AS reason
        FROM (
            SELECT *, CASE WHEN reason IS NULL THEN
                   min(row_no) OVER (PARTITION BY reason IS NULL, n{", " + v_columns if parts else ""}) END AS first_row
            FROM judged
        )
        """
    )


def identity_reasons(values: list[str | None], *, today: datetime.date | None = None) -> list[str | None]:
    """The reason the import's SQL gives each identity number (None when valid), for proving it agrees with
    `registry.identifiers.parse_identity_number` — the same checks, in the same order, with the same wording."""
    spec = Source("identity", "公民身份号码", "", "", (sources.ID,))
    with Workspace() as ws:
        ws.load_rows([{"id_number": value if value is not None else ""} for value in values])
        validate(ws, spec, {"id_number": "id_number"}, today or timezone.localdate(), dedupe=False)
        found = dict(ws.con.execute("SELECT row_no, reason FROM checked").fetchall())
    # Blank rows are skipped by the import; as a single value they are a missing number.
    return [found.get(index, "请填写公民身份号码") for index in range(1, len(values) + 1)]

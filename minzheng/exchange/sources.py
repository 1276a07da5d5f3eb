"""The departmental data sources the checking engine reads (DOMAIN.md §5) and the monitoring signal feeds (§4), each
with a declared schema, defined as data in `sources.toml`.

A source's rows are joined to people by the identity number in `id_number`; at import the number is resolved once to
the registry's integer person key, so the engine joins on integers (issue 4 §4). The declared field kinds drive the
row validation of every import path (file or API) and the column types of the Parquet snapshot.
"""

import tomllib
from dataclasses import dataclass, field
from importlib import resources

from minzheng.registry.codes import DisabilityCategory

# Field kinds and the Parquet/DuckDB type each is stored as.
KIND_TYPES = {
    "id_number": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "date": "DATE",
    "month": "DATE",  # first day of the month; accepts 2026-05, 202605 and 2026-05-01
    "money": "DECIMAL(18,2)",
    "int": "INTEGER",
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    required: bool = True
    choices: dict[str, str] = field(default_factory=dict)  # for kind="code": code -> Chinese label

    @property
    def sql_type(self) -> str:
        return KIND_TYPES[self.kind]


@dataclass(frozen=True)
class Source:
    code: str
    name: str
    department: str
    category: str  # authorisation category (授权核对的数据类别)
    fields: tuple[Field, ...]
    description: str = ""

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _load() -> tuple[dict[str, str], dict[str, Source], dict[str, Source]]:
    data = tomllib.loads(resources.files("minzheng.exchange").joinpath("sources.toml").read_text("utf-8"))
    shared = {**data.get("choices", {}), "disability_category": dict(DisabilityCategory.choices)}

    def source(entry: dict, category: str) -> Source:
        fields = tuple(
            Field(
                f["name"],
                f["label"],
                f["kind"],
                required=f.get("required", True),
                choices=shared[f["choices"]] if isinstance(f.get("choices"), str) else f.get("choices", {}),
            )
            for f in entry["fields"]
        )
        for f in fields:
            if f.kind not in KIND_TYPES:
                raise ValueError(f"sources.toml: {entry['code']}.{f.name} has an unknown kind {f.kind!r}")
        return Source(entry["code"], entry["name"], entry["department"], category, fields, entry.get("description", ""))

    sources = {e["code"]: source(e, e["category"]) for e in data["source"]}
    feeds = {e["code"]: source(e, SIGNAL) for e in data["signal_feed"]}
    payment = {e["code"]: source(e, PAYMENT) for e in data["payment_feed"]}
    return data["categories"], sources, feeds, payment


# Signal feeds for low-income monitoring (DOMAIN.md §4, JC) are departments' events, not read by the checking engine;
# they are imported, validated and stored exactly like the checking sources.
SIGNAL = "signal"
# Deliveries read only by the pre-payment comparison of the monthly rolls (发放前比对, DOMAIN.md §11), such as who is
# paid from public funds as staff (财政供养人员): imported and validated like every source; neither engine reads them.
PAYMENT = "payment"
# CATEGORIES: the authorisation categories (授权核对书 lists the kinds of information the family agrees may be queried).
CATEGORIES, SOURCES, SIGNAL_FEEDS, PAYMENT_FEEDS = _load()
ID = SOURCES["pension"].field("id_number")

# The checking sources that also carry monitoring signals.
SIGNALLING_SOURCES = ("medical", "disability", "civil_status")
# Every importable source: what the import command, page and API accept.
ALL_SOURCES: dict[str, Source] = {**SOURCES, **SIGNAL_FEEDS, **PAYMENT_FEEDS}
MONITORING_FEEDS = (*SIGNALLING_SOURCES, *SIGNAL_FEEDS)


KIND_IBIS = {
    "id_number": "string",
    "text": "string",
    "code": "string",
    "date": "date",
    "month": "date",
    "money": "decimal(18,2)",
    "int": "int32",
}


def source_schema(code: str) -> dict[str, str]:
    """The columns of a snapshot the rules may read. Free text (employers, institutions, certificate and plate
    numbers) is for people reading a record, never an input to a rule, so no engine is given it."""
    schema = {"snapshot_id": "int64", "row_no": "int32", "person_key": "int64"}
    for f in ALL_SOURCES[code].fields:
        if f.kind != "text":
            schema[f.name] = KIND_IBIS[f.kind]
    return schema


def file_schema(code: str) -> dict[str, str]:
    """Every column of a snapshot file as the importer writes it, free text included (what a reader that must be
    told a file's schema, Spark, is told)."""
    return {"snapshot_id": "int64", "row_no": "int32", "person_key": "int64"} | {
        f.name: KIND_IBIS[f.kind] for f in ALL_SOURCES[code].fields
    }


def get(code: str) -> Source:
    from minzheng.core.errors import NotFound

    try:
        return ALL_SOURCES[code]
    except KeyError:
        raise NotFound(f"未知的数据来源：{code}（可用：{'、'.join(ALL_SOURCES)}）", "unknown_source") from None

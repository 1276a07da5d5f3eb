"""一户一条救助链 (DOMAIN.md §4, JC): one household's timeline — when its members entered and left the monitored
population, the departments' signals about them, the warnings and their visits and closures, the cases with their
decisions, the checks and the referrals. Read-only.

Signals are not copied into the database: they are read here, with DuckDB, from every monitoring-feed Parquet
snapshot covering the household's region, filtered to the household's members (past and present). Payments have no
module yet, so none are shown.
"""

import datetime
from decimal import Decimal

import duckdb
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.checks.models import CheckResult
from minzheng.core import audit
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.money import fmt_fen
from minzheng.exchange.models import Snapshot
from minzheng.exchange.sources import ALL_SOURCES, MONITORING_FEEDS
from minzheng.regions import codes
from minzheng.registry.models import Household, Membership

from . import texts
from .engine import SignalFile, signals_sql
from .models import Alert, MonitoredEntry, Outcome, Visit

# The case events the chain shows (the rest stay on the case page).
CASE_EVENTS = {
    "submit": "提出申请",
    "accept": "受理",
    "approve": "批准",
    "refuse": "不予批准",
}
REVIEW_EVENTS = {"approve": "复核决定：继续保障", "refuse": "复核决定：停止保障"}
KINDS = {
    "register": "监测名册",
    "signal": "部门信号",
    "alert": "预警",
    "visit": "入户核实",
    "closure": "预警办结",
    "case": "案件",
    "check": "信息核对",
    "referral": "转介",
}
# Each kind's badge (Bootstrap colour class), the same in the legend and the rows.
BADGES = {
    "register": "text-bg-secondary",
    "signal": "text-bg-warning",
    "alert": "text-bg-danger",
    "visit": "text-bg-info",
    "closure": "text-bg-success",
    "case": "text-bg-primary",
    "check": "text-bg-dark",
    "referral": "text-bg-light border",
}
# Within one day: what happened first reads first.
_ORDER = {k: i for i, k in enumerate(("register", "signal", "check", "alert", "visit", "closure", "referral", "case"))}


def _entry(date: datetime.date, kind: str, title: str, detail: str = "", url: str = "") -> dict:
    return {
        "date": date,
        "kind": kind,
        "kind_label": KINDS[kind],
        "badge": BADGES[kind],
        "title": title,
        "detail": detail,
        "url": url,
    }


def _snapshot_path(snapshot: Snapshot):
    return settings.CHECKS_DATA_DIR / snapshot.path


def _label(feed: str, field: str, value) -> str:
    spec = ALL_SOURCES.get(feed)
    if spec is None or value is None:
        return "" if value is None else str(value)
    try:
        f = spec.field(field)
    except StopIteration:
        return str(value)
    return f.choices.get(str(value), str(value)) if f.choices else str(value)


def _signal_title(feed: str, code, cents, extra) -> str:
    name = ALL_SOURCES[feed].name if feed in ALL_SOURCES else feed
    if feed == "medical":
        return f"{name}：个人自付 {fmt_fen(None if cents is None else int(cents))} 元"
    if feed == "disaster":
        loss = f"，直接经济损失 {fmt_fen(int(cents))} 元" if cents is not None else ""
        return f"{name}：{_label(feed, 'disaster', code)}{loss}"
    if feed == "disability":
        return f"{name}：{_label(feed, 'grade', code)}"
    if feed in ("civil_status", "employment", "student", "anti_poverty"):
        field = {"civil_status": "event", "employment": "status", "student": "status", "anti_poverty": "status"}[feed]
        return f"{name}：{_label(feed, field, code)}"
    return name


def signal_rows(household: Household, person_names: dict[int, str], id_numbers: dict[str, int]) -> list[dict]:
    """The household members' rows of every monitoring-feed snapshot covering its region, in the shape of
    `rules.SIGNALS`, with the snapshot's source and period. Unmatched rows (no key at import) are found by number."""
    snapshots = list(
        Snapshot.objects.filter(source__in=MONITORING_FEEDS, region_id__in=codes.lineage(household.region_id)).order_by(
            "id"
        )
    )
    files = [SignalFile(s.source, s.pk, _snapshot_path(s)) for s in snapshots if _snapshot_path(s).is_file()]
    if not files or not person_names:
        return []
    keys = ", ".join(str(int(k)) for k in person_names)
    numbers = ", ".join("'" + n.replace("'", "''") + "'" for n in id_numbers) or "NULL"
    con = duckdb.connect(config={"threads": 1})
    try:
        rows = con.execute(
            f"SELECT feed, snapshot_id, row_no, person_key, id_number, code, event_on, cents, extra"
            f" FROM ({signals_sql(files)}) WHERE person_key IN ({keys}) OR id_number IN ({numbers})"
            f" ORDER BY event_on, snapshot_id, row_no"
        ).fetchall()
    finally:
        con.close()
    columns = ("feed", "snapshot_id", "row_no", "person_key", "id_number", "code", "event_on", "cents", "extra")
    out = []
    for row in rows:
        r = dict(zip(columns, row, strict=True))
        if r["person_key"] is None:
            r["person_key"] = id_numbers.get(r["id_number"])
        out.append(r)
    return out


def household_chain(user, household_id: int) -> list[dict]:
    """The household's rescue chain, oldest first: [{date, kind, kind_label, title, detail, url}]. Requires
    VIEW_MONITORING and the household in scope; the view is audited (it shows personal data)."""
    require(user, Capability.VIEW_MONITORING)
    household = Household.objects.select_related("region", "head").get_for_user(user, pk=household_id)
    audit.record(audit.Action.VIEW, user=user, obj=household, detail={"page": "monitoring_chain"})
    return build_chain(household, user)


def _linker(user):
    """reverse() for the pages the user may open; "" for the rest (a link that answers 403 is no link)."""
    allowed = {
        "cases:case": Capability.VIEW_PEOPLE,
        "cases:referrals": Capability.VIEW_PEOPLE,
        "checks:report": Capability.VIEW_CHECKS,
        "monitoring:alert": Capability.VIEW_MONITORING,
    }

    def link(name: str, *args, anchor: str = "") -> str:
        return reverse(name, args=args) + anchor if has_capability(user, allowed[name]) else ""

    return link


def build_chain(household: Household, user) -> list[dict]:
    """The entries of the chain; each links to its page only where `user` may open that page."""
    from minzheng.cases.models import Case, CaseEvent, Referral

    link = _linker(user)

    members = list(
        Membership.objects.filter(household=household).values_list("person_id", "person__name", "person__id_number")
    )
    names = {pid: mask_name(name) for pid, name, _n in members}
    numbers = {number: pid for pid, _name, number in members}
    entries: list[dict] = []

    # The monitored population: entering and leaving each category.
    for e in MonitoredEntry.objects.filter(household=household).select_related("person").order_by("start_on", "id"):
        who = mask_name(e.person.name)
        source = e.get_source_display() + (f"（{e.reference}）" if e.reference else "")
        entries.append(
            _entry(e.start_on, "register", f"纳入监测：{e.get_category_display()}", f"{who}；来源：{source}")
        )
        if e.end_on:
            entries.append(
                _entry(e.end_on, "register", f"退出监测：{e.get_category_display()}", f"{who}；{e.end_reason or ''}")
            )

    # Signals from the departments' deliveries.
    periods = dict(Snapshot.objects.filter(source__in=MONITORING_FEEDS).values_list("id", "period"))
    for r in signal_rows(household, names, numbers):
        day = r["event_on"] or periods.get(r["snapshot_id"])
        if day is None:
            continue
        who = names.get(r["person_key"], mask_id_number(r["id_number"]))
        entries.append(
            _entry(
                day,
                "signal",
                _signal_title(r["feed"], r["code"], r["cents"], r["extra"]),
                f"{who}；部门数据快照 #{r['snapshot_id']} 第 {r['row_no']} 行",
            )
        )

    # Warnings, their visits and closures.
    alerts = list(Alert.objects.filter(household=household).select_related("person", "case", "referral").order_by("id"))
    for a in alerts:
        url = link("monitoring:alert", a.pk)
        who = mask_name(a.person.name) if a.person_id else ""
        entries.append(
            _entry(
                a.raised_on,
                "alert",
                f"预警 {a.number}：{texts.rule_name(a.rule)}",
                f"{a.summary.rstrip('。')}{('；涉及 ' + who) if who else ''}；建议：{Outcome(a.suggested_outcome).label}",
                url,
            )
        )
        if a.closed_on:
            done = ""
            if a.case_id:
                done = f"；形成案件 {a.case.number}"
            elif a.referral_id:
                done = f"；转介{a.referral.get_department_display()}"
            label = Outcome(a.outcome).label if a.outcome in Outcome.values else a.outcome
            entries.append(
                _entry(
                    a.closed_on,
                    "closure",
                    f"预警 {a.number} 办结：{label}",
                    f"{a.closing_note.rstrip('。')}{done}",
                    url,
                )
            )
    for v in Visit.objects.filter(alert__household=household).select_related("alert").order_by("visited_on", "id"):
        entries.append(
            _entry(
                v.visited_on,
                "visit",
                f"入户核实：{v.get_finding_display()}",
                v.notes.rstrip("。") + (f"；主要需求：{v.needs}" if v.needs else ""),
                link("monitoring:alert", v.alert_id),
            )
        )

    # Cases and their key events.
    cases = {c.pk: c for c in Case.objects.filter(household=household).select_related("service")}
    events = CaseEvent.objects.filter(case_id__in=list(cases), action__in=list(CASE_EVENTS)).order_by("case_id", "seq")
    for ev in events:
        case = cases[ev.case_id]
        label = (REVIEW_EVENTS if case.service.workflow == "review" else {}).get(ev.action, CASE_EVENTS[ev.action])
        detail = f"{case.service.name}"
        if ev.action == "submit":
            detail += f"；渠道：{case.get_channel_display()}"
        if ev.action == "approve" and case.decided_amount is not None:
            detail += f"；核定金额 {Decimal(case.decided_amount):,.2f} 元"
        if ev.note:
            detail += f"；{ev.note}"
        entries.append(_entry(ev.on, "case", f"案件 {case.number}：{label}", detail, link("cases:case", case.pk)))

    # Checks (finished runs only).
    for c in CheckResult.objects.visible().filter(household=household).select_related("run").order_by("id"):
        entries.append(
            _entry(
                c.run.as_of if c.run.kind == "batch" else timezone.localdate(c.created_at),
                "check",
                f"{c.run.get_kind_display()}：{c.verdict_label}",
                f"人均月收入 {c.per_capita_income} 元"
                + (f"；{c.get_change_display()}" if c.run.kind == "batch" else ""),
                link("checks:report", c.pk),
            )
        )

    # Referrals to other departments.
    for ref in Referral.objects.filter(household=household).order_by("referred_on", "id"):
        url = link("cases:referrals", anchor=f"#referral-{ref.pk}")
        entries.append(_entry(ref.referred_on, "referral", f"转介{ref.get_department_display()}", ref.need[:200], url))
        if ref.replied_on:
            entries.append(
                _entry(ref.replied_on, "referral", f"{ref.get_department_display()}回复", ref.reply[:200], url)
            )

    entries.sort(key=lambda e: (e["date"], _ORDER[e["kind"]]))
    return entries


def evidence(alert: Alert, user) -> list[dict]:
    """The department rows behind a warning: source name, snapshot and the row itself (identity number masked); a
    batch re-check's row links to its report for users who may read check results."""
    link = _linker(user)
    items = list(alert.evidence or [])
    snapshots = {
        s.pk: s for s in Snapshot.objects.filter(pk__in=[i.get("snapshot") for i in items]).select_related("region")
    }
    out = []
    for item in items:
        source = item.get("source", "")
        spec = ALL_SOURCES.get(source)
        snap = snapshots.get(item.get("snapshot")) if spec is not None else None
        fields: list[tuple[str, str]] = []
        if snap is not None and spec is not None and _snapshot_path(snap).is_file():
            con = duckdb.connect(config={"threads": 1})
            try:
                cur = con.execute(
                    "SELECT * FROM read_parquet(?) WHERE row_no = ?", [str(_snapshot_path(snap)), item.get("row_no")]
                )
                names = [d[0] for d in cur.description]
                row = cur.fetchone()
            finally:
                con.close()
            if row is not None:
                values = dict(zip(names, row, strict=True))
                for f in spec.fields:
                    value = values.get(f.name)
                    if f.kind == "id_number":
                        shown = mask_id_number(value)
                    elif f.choices:
                        shown = f.choices.get(str(value), "" if value is None else str(value))
                    elif isinstance(value, datetime.date):
                        shown = f"{value:%Y-%m-%d}"
                    else:
                        shown = "" if value is None else str(value)
                    fields.append((f.label, shown))
        check = source == "check" and item.get("row_no") is not None
        out.append(
            {
                "source": source,
                "source_name": spec.name if spec else ("批量复核结果" if source == "check" else source),
                "url": link("checks:report", item["row_no"]) if check else "",
                "department": spec.department if spec else "",
                "snapshot": snap,
                "row_no": item.get("row_no"),
                "fields": fields,
            }
        )
    return out

"""The warning rules of low-income monitoring (DOMAIN.md §4, JC), written once as set-based Ibis expressions.

As in the checking engine (`minzheng.checks.rules`), the rules are a chain of stages over *unbound* tables, compiled
once to SQL: DuckDB runs them over a whole region's monitored population and all new signals in one pass, and the
same SQL compiles for Spark. Every rule yields candidate warnings (household, rule, the signal it fired on, the
suggested outcome of the four in DOMAIN.md §4); the last stages drop what an open or earlier warning already covers
(duplicate suppression) and send households hit by several rules at once to the county (情况复杂).

Money is integer fen, shares exact fractions (numerator, denominator), as in the checking engine.
"""

from functools import cache

import ibis
from ibis import _

# ---------------------------------------------------------------------------------------------------------- inputs

MEMBERS = {
    "household_key": "int64",
    "person_key": "int64",
    "id_number": "string",
    "county": "int64",
    "disability_grade": "int64",
}
# Open register entries (one row per person and category).
REGISTER = {"household_key": "int64", "person_key": "int64", "category": "string"}
# Every new signal, from every feed, in one shape (see FEED_COLUMNS).
SIGNALS = {
    "feed": "string",
    "snapshot_id": "int64",
    "row_no": "int64",
    "person_key": "int64",
    "id_number": "string",
    "code": "string",
    "event_on": "date",
    "cents": "int64",
    "extra": "string",
}
# The latest check result's counted monthly income per household (for the medical-cost share).
INCOME = {"household_key": "int64", "monthly_cents": "int64"}
# Batch re-check results not yet looked at by a sweep.
CHECK_CHANGES = {
    "household_key": "int64",
    "result_id": "int64",
    "change": "string",
    "verdict_dibao": "boolean",
    "checked_on": "date",
}
PARAMS = {
    "county": "int64",
    "as_of": "date",
    "enabled": "string",  # ",rule,rule,"
    "medical_from": "date",  # first day of the look-back for medical costs
    "medical_cents": "int64",  # NULL: amount test off
    "medical_num": "int64",  # NULL: share test off
    "medical_den": "int64",
    "disaster_cents": "int64",  # NULL: every reported loss
    "complex_count": "int64",
}
# Warnings already raised in the region: the duplicate suppression reads them.
EXISTING = {
    "household_key": "int64",
    "rule": "string",
    "signal_key": "string",
    "open": "boolean",
    "raised_on": "date",
}

INPUTS = {
    "members": MEMBERS,
    "register": REGISTER,
    "signals": SIGNALS,
    "income": INCOME,
    "check_changes": CHECK_CHANGES,
    "params": PARAMS,
    "existing": EXISTING,
}

# How each feed's rows become signals: SQL expressions over the snapshot's columns for (code, event_on, cents, extra).
FEED_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "medical": ("'cost'", "settled_on", "CAST(round(out_of_pocket * 100) AS BIGINT)", "NULL"),
    "disability": ("grade", "issued_on", "NULL", "category"),
    "civil_status": ("event", "event_on", "NULL", "NULL"),
    "employment": ("status", "registered_on", "NULL", "employer"),
    "student": ("status", "event_on", "NULL", "stage"),
    "disaster": ("disaster", "occurred_on", "CAST(round(loss * 100) AS BIGINT)", "house_damage"),
    "anti_poverty": ("status", "event_on", "NULL", "risk"),
}

# The rules: code -> (Chinese name, feed or "check"). The order is the order of the rule list on every page.
RULES: dict[str, tuple[str, str]] = {
    "death_member": ("监测家庭成员死亡", "civil_status"),
    "registration_change": ("监测家庭成员户籍迁出、服刑等", "civil_status"),
    "employed": ("低保家庭成员就业登记", "employment"),
    "unemployed": ("监测家庭成员失业登记", "employment"),
    "medical_high": ("高额自付医疗费用", "medical"),
    "disability_new": ("新办或等级提高的残疾人证", "disability"),
    "dropout": ("学生辍学、失学", "student"),
    "student_aid": ("家庭经济困难学生（未纳入救助）", "student"),
    "disaster": ("自然灾害受灾", "disaster"),
    "anti_poverty": ("新纳入防止返贫监测（未纳入低保、特困）", "anti_poverty"),
    "recheck_change": ("批量复核结果变化", "check"),
}

CANDIDATE = {
    "household_key": "int64",
    "person_key": "int64",
    "rule": "string",
    "signal_key": "string",
    "outcome": "string",
    "signal_on": "date",
    "feed": "string",
    "snapshot_id": "int64",
    "row_no": "int64",
    "code": "string",
    "cents": "int64",
    "extra": "string",
    "category": "string",  # the household's main monitored category when the rule fired ("" = not monitored)
    "county": "int64",
}


# ----------------------------------------------------------------------------------------------------- the stages


def matched(T) -> ibis.Table:
    """Signals joined to current members: by the key resolved at import, or now by identity number for people
    registered after the signal arrived. Signals of nobody in the region's households stay out (and are reported)."""
    s, m = T["signals"], T["members"]
    mm = m.select(
        m_household=m.household_key,
        m_person=m.person_key,
        m_id=m.id_number,
        county=m.county,
        registry_grade=m.disability_grade,
    )
    by_key = s.filter(s.person_key.notnull()).join(mm, _.person_key == mm.m_person)
    late = s.filter(s.person_key.isnull()).join(mm, _.id_number == mm.m_id)
    cols = dict(
        household_key=_.m_household,
        person_key=_.m_person,
        county=_.county,
        registry_grade=_.registry_grade,
        feed=_.feed,
        snapshot_id=_.snapshot_id,
        row_no=_.row_no,
        code=_.code,
        event_on=_.event_on,
        cents=_.cents,
        extra=_.extra,
    )
    return by_key.select(**cols).union(late.select(**cols))


def households(T) -> ibis.Table:
    """Per monitored household: which categories its members are in."""
    r = T["register"]
    return r.group_by(household_key=r.household_key).aggregate(
        dibao=(r.category == "dibao").any(),
        tekun=(r.category == "tekun").any(),
        edge=(r.category == "edge").any(),
        rigid=(r.category == "rigid").any(),
        anti=(r.category == "anti_poverty").any(),
    )


def facts(T) -> ibis.Table:
    """Each matched signal with its household's categories and its county's parameters."""
    s, h, p = T["matched"], T["households"], T["params"]
    hh = h.rename(h_key="household_key")
    j = s.join(hh, s.household_key == hh.h_key, how="left").join(p, _.county == p.county)
    recipient = j.dibao.fill_null(False) | j.tekun.fill_null(False)
    monitored = recipient | j.edge.fill_null(False) | j.rigid.fill_null(False) | j.anti.fill_null(False)
    category = ibis.cases(
        (j.tekun.fill_null(False), "tekun"),
        (j.dibao.fill_null(False), "dibao"),
        (j.edge.fill_null(False), "edge"),
        (j.rigid.fill_null(False), "rigid"),
        (j.anti.fill_null(False), "anti_poverty"),
        else_="",
    )
    return j.select(
        *[j[c] for c in ("household_key", "person_key", "county", "registry_grade", "feed", "snapshot_id", "row_no")],
        *[j[c] for c in ("code", "event_on", "cents", "extra", "as_of", "enabled", "medical_from")],
        *[j[c] for c in ("medical_cents", "medical_num", "medical_den", "disaster_cents")],
        recipient=recipient,
        dibao=j.dibao.fill_null(False),
        monitored=monitored,
        category=category,
    )


def _on(f, rule: str):
    return f.enabled.contains("," + rule + ",")


def _candidate(t, rule: str, outcome, key, person=None) -> ibis.Table:
    return t.select(
        household_key=t.household_key,
        person_key=t.person_key if person is None else person,
        rule=ibis.literal(rule),
        signal_key=key,
        outcome=outcome if not isinstance(outcome, str) else ibis.literal(outcome),
        signal_on=t.event_on,
        feed=t.feed,
        snapshot_id=t.snapshot_id,
        row_no=t.row_no,
        code=t.code,
        cents=t.cents,
        extra=t.extra,
        category=t.category,
        county=t.county,
    )


def _person_key(rule: str, t, *more):
    parts = [ibis.literal(rule + ":"), t.person_key.cast("string")]
    for m in more:
        parts += [ibis.literal(":"), m.cast("string")]
    return ibis.literal("").concat(*parts)


def candidates(T) -> ibis.Table:
    """Every rule's candidate warnings, before duplicate suppression."""
    f = T["facts"]
    cs, emp, stu = f.filter(f.feed == "civil_status"), f.filter(f.feed == "employment"), f.filter(f.feed == "student")
    out = []

    # A member of a monitored household died: the household must be re-checked (低保: within post_death_review_months).
    t = cs.filter((cs.code == "death") & cs.monitored & _on(cs, "death_member"))
    out.append(_candidate(t, "death_member", "stop", _person_key("death", t)))

    # Moved out, imprisoned, in compulsory rehabilitation or missing: no longer living in the household (DB §7).
    t = cs.filter(cs.code.isin(["move_out", "imprisoned", "drug_rehab", "missing"]) & cs.recipient)
    t = t.filter(_on(t, "registration_change"))
    out.append(_candidate(t, "registration_change", "stop", _person_key("registration", t, t.code, t.event_on)))

    # Registered employed while the household receives 低保: the income may have changed.
    t = emp.filter((emp.code == "employed") & emp.dibao & _on(emp, "employed"))
    out.append(_candidate(t, "employed", "stop", _person_key("employed", t, t.event_on)))

    # Registered unemployed in a monitored household: employment assistance (人社) is the policy to apply.
    t = emp.filter((emp.code == "unemployed") & emp.monitored & _on(emp, "unemployed"))
    out.append(_candidate(t, "unemployed", "apply", _person_key("unemployed", t, t.event_on)))

    # A new certificate, or a more severe grade than the registry holds (grade 1 is the most severe). Severe
    # disability (grades 1–2) concerns everyone (护理补贴); a lighter one only the monitored households.
    d = f.filter((f.feed == "disability") & _on(f, "disability_new"))
    # try_cast: an engine may evaluate the cast before the feed filter (Spark does), on other feeds' codes ("death").
    grade = d.code.try_cast("int64")
    t = d.filter(
        grade.notnull() & (d.registry_grade.isnull() | (grade < d.registry_grade)) & ((grade <= 2) | d.monitored)
    )
    out.append(_candidate(t, "disability_new", "apply", _person_key("disability", t, t.code)))

    # Dropping out of school: the education department's 控辍保学, plus a look at a household nobody monitors.
    t = stu.filter((stu.code == "dropout") & _on(stu, "dropout"))
    outcome = ibis.cases((t.monitored, "apply"), else_="enrol")
    out.append(_candidate(t, "dropout", outcome, _person_key("dropout", t, t.event_on)))

    # A student from a family in economic difficulty whose family receives nothing: possibly eligible.
    t = stu.filter((stu.code == "aid") & ~stu.monitored & _on(stu, "student_aid"))
    out.append(_candidate(t, "student_aid", "enrol", _person_key("student_aid", t, t.event_on)))

    # Disaster losses (over the local amount, where one is set): temporary assistance.
    t = f.filter((f.feed == "disaster") & _on(f, "disaster"))
    t = t.filter(t.disaster_cents.isnull() | (t.cents >= t.disaster_cents))
    outcome = ibis.cases((t.monitored, "apply"), else_="enrol")
    out.append(_candidate(t, "disaster", outcome, _person_key("disaster", t, t.event_on)))

    # Newly identified for 防止返贫 monitoring and not yet in 低保/特困: possibly eligible.
    t = f.filter((f.feed == "anti_poverty") & (f.code == "identified") & ~f.recipient & _on(f, "anti_poverty"))
    out.append(_candidate(t, "anti_poverty", "enrol", _person_key("anti_poverty", t, t.event_on)))

    result = out[0]
    for more in (*out[1:], T["medical"], T["rechecked"]):
        result = result.union(more)
    return result


def medical(T) -> ibis.Table:
    """High out-of-pocket medical costs over the look-back (DOMAIN.md §4): the household's sum at or over the local
    amount, or at or over the local share of its yearly income (the latest check's counted income). A recipient
    household → apply 医疗救助/临时救助; any other → possibly eligible (支出型临时救助, 刚性支出困难)."""
    f = T["facts"]
    m = f.filter((f.feed == "medical") & (f.event_on <= f.as_of) & (f.event_on >= f.medical_from))
    m = m.filter(_on(m, "medical_high"))
    per = m.group_by(
        household_key=m.household_key,
        county=m.county,
        recipient=m.recipient,
        category=m.category,
        medical_cents=m.medical_cents,
        medical_num=m.medical_num,
        medical_den=m.medical_den,
    ).aggregate(
        total=m.cents.sum(),
        snapshot_id=m.snapshot_id.max(),
        row_no=m.row_no.max(),
        signal_on=m.event_on.max(),
        person_key=m.person_key.max(),
    )
    # Costs already warned about inside the look-back are not warned about again when next month's delivery repeats
    # them (a delivery covers the whole look-back).
    e = T["existing"]
    warned = e.filter(e.rule == "medical_high").select(w_key=e.household_key, w_on=e.raised_on)
    window = m.group_by(k=m.household_key).aggregate(since=m.medical_from.min())
    recent = warned.join(window, warned.w_key == window.k).filter(_.w_on >= _.since).select("w_key").distinct()
    per = per.anti_join(recent, per.household_key == recent.w_key)
    inc = T["income"].rename(i_key="household_key")
    j = per.join(inc, per.household_key == inc.i_key, how="left")
    yearly = j.monthly_cents * 12
    over_amount = j.medical_cents.notnull() & (j.total >= j.medical_cents)
    # total ≥ yearly × num / den, compared exactly in integers. A household with no counted income is judged on the
    # amount alone: any cost is "all of nothing", which would flag every small bill.
    over_share = j.medical_num.notnull() & (j.monthly_cents > 0) & (j.total * j.medical_den >= yearly * j.medical_num)
    t = j.filter(over_amount | over_share)
    return t.select(
        household_key=t.household_key,
        person_key=t.person_key,
        rule=ibis.literal("medical_high"),
        signal_key=ibis.literal("medical:").concat(t.snapshot_id.cast("string")),
        outcome=ibis.cases((t.recipient, "apply"), else_="enrol"),
        signal_on=t.signal_on,
        feed=ibis.literal("medical"),
        snapshot_id=t.snapshot_id,
        row_no=t.row_no,
        code=ibis.literal("cost"),
        cents=t.total,
        extra=yearly.cast("string"),
        category=t.category,
        county=t.county,
    )


def rechecked(T) -> ibis.Table:
    """A batch re-check now disagrees with a monitored household's status: more is due (apply), it would stop (stop),
    or a household on the edge or with rigid spending now qualifies for 低保 (enrol)."""
    c, h, p, m = T["check_changes"], T["households"], T["params"], T["members"]
    m = m.semi_join(c, m.household_key == c.household_key)  # a few households, not the whole population
    county = m.group_by(k=m.household_key).aggregate(county=m.county.max())
    hh = h.rename(h_key="household_key")
    j = c.join(hh, c.household_key == hh.h_key).join(county, _.household_key == county.k)
    j = j.join(p, _.county == p.county)
    j = j.filter(_on(j, "recheck_change"))
    recipient = j.dibao | j.tekun
    outcome = ibis.cases(
        ((j.change == "increase") & recipient, "apply"),
        (j.change.isin(["stop", "decrease"]) & recipient, "stop"),
        (~recipient & (j.edge | j.rigid) & j.verdict_dibao, "enrol"),
        else_=ibis.null("string"),
    )
    category = ibis.cases((j.tekun, "tekun"), (j.dibao, "dibao"), (j.edge, "edge"), (j.rigid, "rigid"), else_="")
    t = j.mutate(outcome=outcome, category=category).filter(_.outcome.notnull())
    return t.select(
        household_key=t.household_key,
        person_key=ibis.null("int64"),
        rule=ibis.literal("recheck_change"),
        signal_key=ibis.literal("check:").concat(t.result_id.cast("string")),
        outcome=t.outcome,
        signal_on=t.checked_on,
        feed=ibis.literal("check"),
        snapshot_id=ibis.null("int64"),
        row_no=t.result_id,
        code=t.change,
        cents=ibis.null("int64"),
        extra=ibis.null("string"),
        category=t.category,
        county=t.county,
    )


def fresh(T) -> ibis.Table:
    """Duplicate suppression: nothing an earlier warning fired on, nothing while the same rule is open for the
    household, and one warning per household and rule in a sweep (the earliest signal)."""
    c, e = T["candidates"], T["existing"]
    seen = e.select(e_key=e.household_key, e_rule=e.rule, e_signal=e.signal_key)
    c = c.anti_join(seen, (c.household_key == seen.e_key) & (c.rule == seen.e_rule) & (c.signal_key == seen.e_signal))
    busy = e.filter(e.open).select(o_key=e.household_key, o_rule=e.rule)
    c = c.anti_join(busy, (c.household_key == busy.o_key) & (c.rule == busy.o_rule))
    order = ibis.row_number().over(group_by=[c.household_key, c.rule], order_by=[c.signal_on, c.signal_key, c.row_no])
    return c.mutate(n=order).filter(_.n == 0).drop("n")


def warnings(T) -> ibis.Table:
    """The new warnings, classified: a household with as many different rules open as the county's complex_count
    (the new ones and those already open) goes to the county for 一事一议 (情况复杂)."""
    fr, e, p = T["fresh"], T["existing"], T["params"]
    rules_open = fr.select(k=fr.household_key, r=fr.rule).union(
        e.filter(e.open).select(k=e.household_key, r=e.rule), distinct=True
    )
    per = rules_open.group_by(k2=rules_open.k).aggregate(rule_count=rules_open.r.nunique())
    prm = p.select(p_county=p.county, complex_count=p.complex_count)
    j = fr.join(per, fr.household_key == per.k2).join(prm, _.county == prm.p_county)
    complex_ = j.rule_count >= j.complex_count
    return j.select(
        *[j[c] for c in CANDIDATE if c != "outcome"],
        outcome=ibis.cases((complex_, "complex"), else_=j.outcome),
        suggested=j.outcome,
        rule_count=j.rule_count,
    )


STAGES: dict = {
    "matched": matched,
    "households": households,
    "facts": facts,
    "medical": medical,
    "rechecked": rechecked,
    "candidates": candidates,
    "fresh": fresh,
    "warnings": warnings,
}


@cache
def compiled(dialect: str) -> dict[str, str]:
    """Each stage's SQL, compiled once per process and dialect."""
    T = {name: ibis.table(schema, name=name) for name, schema in INPUTS.items()}
    out = {}
    for name, build in STAGES.items():
        expr = build(T)
        out[name] = ibis.to_sql(expr, dialect=dialect)
        T[name] = ibis.table(expr.schema(), name=name)
    return out

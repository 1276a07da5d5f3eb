"""The checking rules (DOMAIN.md §1, §2, §4), written once as set-based Ibis expressions.

The expressions are built over *unbound* tables with declared schemas and compiled to SQL: DuckDB runs them for a
whole county or province in one pass, SQLite for one household at the window (over the row store, `rowstore`), and
the same expressions compile unchanged to Spark SQL (ARCHITECTURE.md principle 2). Every input is a table: the members, the departmental snapshots, the
investigation's declarations, the authorisations, and the parameters in force per county and urban/rural category.

Money is integer fen (cents) throughout the engine: exact on every backend, and divisions round half up explicitly.
Shares and multipliers arrive as exact fractions (numerator, denominator), so 1/3 of 1,930.00 is 643.33, not 643.27.
"""

import operator
from functools import cache, reduce

import ibis
from ibis import _

from minzheng.exchange.sources import SOURCES, source_schema

from .lines import DECLARED, ITEM_ROWS, MONTHLY_ROLES, ItemRows, age_on, div_half_up, round_rule, share
from .schemas import INPUTS, MEMBERS, MINOR_AGE, PARAMS


def raw_table_name(code: str) -> str:
    return f"raw_{code}"


# ----------------------------------------------------------------------------------------------------- the rules
#
# The rules are a chain of stages. Each stage is one expression over named tables: the inputs or earlier stages.
# Compiled stage by stage, each query stays small; a runner materialises each stage as a table (the window: a few
# rows each) or a view (the batch: DuckDB streams it into the next stage). `T` maps a name to its unbound table.


def late_keys(T) -> ibis.Table:
    """The identity numbers of source rows the import could not match, matched now to people registered since: one
    small table for every source. (Each source joining its unmatched rows to all members' numbers would hash every
    member's number once per source.)"""
    m = T["members"]
    unmatched = [T[raw_table_name(code)] for code in SOURCES]
    numbers = ibis.union(*[t.filter(t.person_key.isnull()).select(n_id=t.id_number) for t in unmatched], distinct=True)
    return numbers.join(m, numbers.n_id == m.id_number).select(l_id=numbers.n_id, l_person=m.person_key)


def resolved_source(T, code: str) -> ibis.Table:
    """A source's rows with a person key: matched at import, or matched now by identity number for people registered
    after the snapshot was imported (a small remainder, so the string join stays cheap)."""
    raw, ids = T[raw_table_name(code)], T["late_keys"]
    matched = raw.filter(raw.person_key.notnull())
    late = raw.filter(raw.person_key.isnull())
    late = late.join(ids, late.id_number == ids.l_id).mutate(person_key=_.l_person).select(raw.columns)
    return matched.union(late)


def member_keys(T) -> ibis.Table:
    """Members with the dates of their county's parameters (the as-of day and the look-back windows). Their identity
    numbers stay behind: rows are matched to people by key from here on."""
    m, prm = T["members"], T["params"]
    j = m.join(prm, [m.county == prm.county, m.area_type == prm.area_type])
    return j.select(
        *[j[c] for c in MEMBERS if c != "id_number"],
        as_of=j.as_of,
        income_from=j.income_from,
        rigid_from=j.rigid_from,
        lookback=j.lookback_months,
    )


def people(T) -> ibis.Table:
    """One row per current member: age, whether they count as living together (DB §7), effective disability, what
    the investigation established about supporters and illness."""
    m = T["member_keys"]
    cs = T["src_civil_status"]
    days = m.select(pk=m.person_key, day=m.as_of)
    events = (
        cs.join(days, cs.person_key == days.pk)
        .filter(_.event_on <= _.day)
        .group_by(person_key=_.person_key)
        .aggregate(
            death=(_.event == "death").any(),
            move_out=(_.event == "move_out").any(),
            absent=_.event.isin(["imprisoned", "drug_rehab", "missing"]).any(),
        )
    )
    d = T["declarations"]
    declared = d.group_by(person_key=d.person_key).aggregate(
        decl_excluded=(d.kind == "exclusion").any(),
        no_supporter=(d.kind == "no_supporter").any(),
        has_supporter=(d.kind == "has_supporter").any(),
        illness=(d.kind == "serious_illness").any(),
        student=(d.kind == "student").any(),
    )
    dis = T["src_disability"]
    latest = (
        dis.mutate(
            rank=ibis.row_number().over(
                group_by=dis.person_key, order_by=[ibis.desc(dis.issued_on), ibis.desc(dis.row_no)]
            )
        )
        .filter(_.rank == 0)
        .select(person_key=_.person_key, cert_category=_.category, cert_grade=_.grade.cast("int64"))
    )
    p = m.left_join(events, m.person_key == events.person_key).select(m, events.death, events.move_out, events.absent)
    p = p.left_join(declared, p.person_key == declared.person_key).select(
        p,
        declared.decl_excluded,
        declared.no_supporter,
        declared.has_supporter,
        declared.illness,
        declared.student,
    )
    p = p.left_join(latest, p.person_key == latest.person_key).select(p, latest.cert_category, latest.cert_grade)
    dead = (p.deceased_on.notnull() & (p.deceased_on <= p.as_of)) | p.death.fill_null(False)
    exclusion = ibis.cases(
        (dead, "death"),
        (p.move_out.fill_null(False), "move_out"),
        (p.absent.fill_null(False), "absent"),
        (p.decl_excluded.fill_null(False), "declared"),
        else_="",
    )
    return p.select(
        "household_key",
        "person_key",
        "county",
        "area_type",
        "self_care",
        age=age_on(p.birth_date, p.as_of),
        exclusion=exclusion,
        included=exclusion == "",
        dis_category=p.cert_category.fill_null(p.disability_category.fill_null("")),
        dis_grade=p.cert_grade.fill_null(p.disability_grade),
        supporter=ibis.cases(
            (p.no_supporter.fill_null(False), "none"),
            (p.has_supporter.fill_null(False), "able"),
            else_="unknown",
        ),
        illness=p.illness.fill_null(False),
        student=p.student.fill_null(False),
    )


def _source_rows(T, code: str) -> ibis.Table:
    """A source's rows of current members, with the member's household, county and dates."""
    mk = T["member_keys"]
    keys = mk.select(
        k_person=mk.person_key,
        household_key=mk.household_key,
        k_county=mk.county,
        k_area=mk.area_type,
        as_of=mk.as_of,
        income_from=mk.income_from,
        rigid_from=mk.rigid_from,
        lookback=mk.lookback,
    )
    s = T["declarations"] if code == "declaration" else T[f"src_{code}"]
    return s.join(keys, s.person_key == keys.k_person)


def items(T) -> ibis.Table:
    """Every income, deduction and asset row that bears on the verdict, per person, with its source and row: the
    evidence (the window's report). `cents` is the row's amount; `divisor` turns a period total into a monthly
    figure. The verdicts fold the same `ITEM_ROWS` per person (`person_totals`) without listing them."""

    def listed(spec: ItemRows, j, snapshot_id, row_no):
        return j.select(
            household_key=j.household_key,
            person_key=j.person_key,
            source=ibis.literal(spec.source),
            snapshot_id=snapshot_id,
            row_no=row_no,
            item=spec.value("item", j),
            role=spec.value("role", j),
            cents=spec.cents(j),
            divisor=spec.months(j),
        )

    parts = []
    for spec in ITEM_ROWS:
        j = _source_rows(T, spec.source)
        if spec.where is not None:
            j = j.filter(spec.where(j))
        parts.append(listed(spec, j, j.snapshot_id, j.row_no))
    d = T["declarations"].filter(T["declarations"].kind == "income")
    parts.append(listed(DECLARED, d, ibis.null("int64"), ibis.null("int32")))
    return ibis.union(*parts)


# Per person: the monthly income counted and excluded, the monthly wage (for the employment cost), deductions, the
# monthly medical costs, and the assets. Sums, except the two maxima.
LINE_SUMS = (
    "counted",
    "excluded_income",
    "wage",
    "deductions",
    "medical",
    "financial",
    "vehicles",
    "residential",
    "nonresidential",
    "businesses",
    "rigid",
    "department_rows",
)
LINE_MAXIMA = ("vehicle_max", "housing_fund_base")


def _fold(T, code: str, specs: list[ItemRows]) -> ibis.Table:
    """One source's items summed per person in one pass, straight into the per-person columns.

    Same arithmetic as summing the evidence per person and item: a monthly item with a divisor (a period total) is
    one fixed item per person, so its total is divided and rounded once, as a person-item group would be; an item
    read from a column is monthly already (divisor 1), so its rows are summed directly, each with its own rule."""
    j = _source_rows(T, code)
    rules_ = T["item_rules"]
    by_column = [s for s in specs if callable(s.item) and (callable(s.role) or s.role == "income")]
    assert len(by_column) <= 1, code  # one item-rule lookup per row
    if by_column:
        item = by_column[0].item(j)
        j = j.left_join(rules_, [j.k_county == rules_.county, item == rules_.item]).select(
            j, row_counted=rules_.counted.fill_null(True)
        )
    if any(s.role == "vehicle" for s in specs):
        prm = T["params"]
        exempt = prm.select(e_county=prm.county, e_area=prm.area_type, vehicle_exempt=prm.vehicle_exempt)
        j = j.join(exempt, [j.k_county == exempt.e_county, j.k_area == exempt.e_area]).select(j, exempt.vehicle_exempt)

    aggregates = {"k_county": j.k_county.max()}
    sums: dict[str, list] = {name: [] for name in LINE_SUMS}
    maxima: dict[str, list] = {name: [] for name in LINE_MAXIMA}
    literal_income = []  # (spec, item code, monthly term) of fixed income items: their rule is looked up per person
    for i, spec in enumerate(specs):
        cond, cents = spec.condition(j), spec.cents(j)
        item, role = spec.value("item", j), spec.value("role", j)
        if code != "declaration":
            aggregates[f"n{i}"] = cond.fill_null(False).cast("int64").sum()
            sums["department_rows"].append(f"n{i}")
        if not callable(spec.item) and spec.role in MONTHLY_ROLES:
            total, months = f"t{i}", f"d{i}"
            aggregates[total] = cents.sum(where=cond)
            if spec.divisor == "lookback":
                aggregates[months] = j.lookback.max()  # one county per person, so one period
            else:
                months = spec.divisor
            monthly = (total, months)
            if spec.role == "income":
                literal_income.append((i, spec.item, monthly))
            target = {"deduction": "deductions", "medical_deduction": "medical"}.get(spec.role)
            if target:
                sums[target].append(monthly)
            if spec.item == "wage":
                sums["wage"].append(monthly)
            continue
        assert spec.divisor == 1 or not (callable(spec.role) or spec.role in MONTHLY_ROLES), spec

        def add(name, expr, where, kind=sums, i=i):
            key = f"{name}{i}"
            aggregates[key] = expr(where=where)
            kind[name].append(key)

        if callable(spec.role) or spec.role == "income":
            income = cond & (role == "income")
            add("counted", cents.sum, income & j.row_counted)
            add("excluded_income", cents.sum, income & ~j.row_counted)
            add("wage", cents.sum, income & (item == "wage"))  # declared wages, for the employment cost
        for role_code, name in (("deduction", "deductions"), ("medical_deduction", "medical"), ("rigid", "rigid")):
            if callable(spec.role) or spec.role == role_code:
                add(name, cents.sum, cond & (role == role_code))
        if spec.role == "financial_asset":
            add("financial", cents.sum, cond)
        if spec.role == "vehicle":
            counts = cond & ~j.vehicle_exempt.contains(ibis.literal(",") + item + ",")
            add("vehicles", lambda where: where.cast("int64").sum(), counts)
            add("vehicle_max", cents.max, counts, maxima)
        if spec.role == "property":
            add("residential", lambda where: where.cast("int64").sum(), cond & (item == "residential"))
            add("nonresidential", lambda where: where.cast("int64").sum(), cond & (item != "residential"))
        if spec.role == "business":
            add("businesses", lambda where: where.cast("int64").sum(), cond & (item == "active"))
        if spec.role == "housing_fund":
            add("housing_fund_base", cents.max, cond & (item == "normal"), maxima)

    a = j.group_by(person_key=j.person_key).aggregate(**aggregates)
    flags = {}
    for i, code_, _term in literal_income:
        r = rules_.filter(rules_.item == code_).select(f_county=rules_.county, **{f"c{i}": rules_.counted})
        a = a.left_join(r, a.k_county == r.f_county).select(a, r[f"c{i}"])
        flags[i] = a[f"c{i}"].fill_null(True)

    def monthly(term):
        if isinstance(term, tuple):
            total, months = term
            return div_half_up(a[total].fill_null(0), a[months] if isinstance(months, str) else months)
        return a[term].fill_null(0)

    # Only the columns this source feeds: the people's totals add each column over the sources that have it.
    columns = {name: reduce(operator.add, [monthly(t) for t in terms]) for name, terms in sums.items() if terms}
    for i, _code, term in literal_income:
        m, zero = monthly(term), ibis.literal(0, "int64")
        columns["counted"] = columns.get("counted", zero) + ibis.ifelse(flags[i], m, 0)
        columns["excluded_income"] = columns.get("excluded_income", zero) + ibis.ifelse(flags[i], 0, m)
    for name, terms in maxima.items():
        if terms:
            columns[name] = reduce(_larger, [a[t] for t in terms])
    return a.select(person_key=a.person_key, **{name: column.cast("int64") for name, column in columns.items()})


def _larger(x, y):
    """The larger of two, ignoring NULL (SQLite's two-argument MAX would give NULL, and its one-argument MAX is the
    aggregate: `ibis.greatest` does not mean the same everywhere)."""
    return ibis.greatest(x.fill_null(y), y.fill_null(x))


def person_totals(T) -> ibis.Table:
    """Per member: the monthly income counted and excluded, deductions and assets: each source's items folded per
    person (`_fold`), the folds joined to the people and their columns added.

    Joined, not stacked and grouped by person again: each fold has at most one row per person and only the columns
    its source feeds, so a join per source costs a lookup per person where a second grouping updated every column of
    every folded line (the benchmark's 1 M households: 7.5 M lines into sixteen sums, the costliest step of the
    batch)."""
    by_source: dict[str, list[ItemRows]] = {}
    for spec in ITEM_ROWS:
        by_source.setdefault(spec.source, []).append(spec)
    folds = [_fold(T, code, specs) for code, specs in by_source.items()]
    d = T["declarations"]
    folds.append(_fold({**T, "declarations": d.filter(d.kind == "income")}, "declaration", [DECLARED]))

    people_ = T["people"]
    t = people_
    fed: dict[str, list[str]] = {}  # column -> the joined fold columns that feed it
    for n, fold in enumerate(folds):
        for c in fold.columns:
            if c != "person_key":
                fed.setdefault(c, []).append(f"f{n}_{c}")
        fold = fold.rename({f"f{n}_{c}": c for c in fold.columns})
        t = t.left_join(fold, t.person_key == fold[f"f{n}_person_key"])

    def total(name):
        return reduce(operator.add, [t[c].fill_null(0) for c in fed.get(name, [])], ibis.literal(0, "int64"))

    return t.select(
        *people_.columns,
        **{name: total(name) for name in LINE_SUMS if name != "department_rows"},
        **{
            name: reduce(_larger, [t[c] for c in fed[name]]) if name in fed else ibis.null("int64")
            for name in LINE_MAXIMA
        },
        has_data=total("department_rows") > 0,
    )


def persons(T) -> ibis.Table:
    """Per member: income counted and excluded, deductions (with the employment cost), assets, 分类施保 uplift and
    the 特困 conditions (TK) with the amounts."""
    p, prm = T["person_totals"], T["params"]
    p = p.join(prm, [p.county == prm.county, p.area_type == prm.area_type]).select(
        p, *[prm[c] for c in PARAMS if c not in ("county", "area_type", "as_of", "vehicle_exempt")]
    )
    wage = p.wage.fill_null(0)
    emp_base = ibis.cases(
        (p.emp_base == "min_wage", p.min_wage), (p.emp_base == "wage", wage), else_=ibis.null("int64")
    )
    emp_cost = ibis.ifelse(
        (wage > 0) & emp_base.notnull(),
        ibis.least(wage, share(emp_base.fill_null(0), p.emp_num, p.emp_den)),
        0,
    )
    std = p.std.fill_null(0)
    severe = p.dis_grade.notnull() & (p.dis_grade <= 2)
    uplift = ibis.greatest(
        ibis.ifelse(p.age >= p.elderly_age, share(std, p.up_elderly_num, p.up_elderly_den), 0),
        ibis.ifelse(p.age < MINOR_AGE, share(std, p.up_minor_num, p.up_minor_den), 0),
        ibis.ifelse(severe, share(std, p.up_disability_num, p.up_disability_den), 0),
        ibis.ifelse(p.illness, share(std, p.up_illness_num, p.up_illness_den), 0),
    )
    cat, grade = p.dis_category, p.dis_grade.fill_null(9)
    disabled_unable = ((cat.isin(["intellectual", "mental"]) & (grade <= 3)) | ((cat == "physical") & (grade <= 2))) | (
        (cat == "visual") & (grade == 1)
    )
    # 特困 minors (TK; the 14th Five-Year Plan): covered under `tk_minor_age` (18), and longer while the investigation
    # found them in full-time education, up to `tk_student_age` where the province sets one.
    schooling = p.student & (p.tk_student_age.isnull() | (p.age < p.tk_student_age))
    unable = (p.age >= p.tk_elderly_age) | (p.age < p.tk_minor_age) | schooling | disabled_unable
    min_wage = p.min_wage.fill_null(0)
    care = ibis.cases(
        (p.self_care == "full", share(min_wage, p.care_full_num, p.care_full_den)),
        (p.self_care == "partial", share(min_wage, p.care_partial_num, p.care_partial_den)),
        (p.self_care == "self", share(min_wage, p.care_self_num, p.care_self_den)),
        else_=0,
    )
    return p.select(
        "household_key",
        "person_key",
        "county",
        "area_type",
        "age",
        "exclusion",
        "included",
        "dis_category",
        "dis_grade",
        "self_care",
        "supporter",
        "illness",
        "student",
        counted=p.counted.fill_null(0),
        excluded_income=p.excluded_income.fill_null(0),
        deductions=p.deductions.fill_null(0) + emp_cost + ibis.ifelse(p.deduct_medical, p.medical.fill_null(0), 0),
        employment_cost=emp_cost,
        financial=p.financial.fill_null(0),
        vehicles=p.vehicles.fill_null(0),
        vehicle_max=p.vehicle_max.fill_null(0),
        residential=p.residential.fill_null(0),
        nonresidential=p.nonresidential.fill_null(0),
        businesses=p.businesses.fill_null(0),
        rigid=p.rigid.fill_null(0),
        housing_fund_base=p.housing_fund_base.fill_null(0),
        has_data=p.has_data.fill_null(False),
        uplift=ibis.ifelse(p.included, uplift, 0),
        unable_to_work=unable,
        tekun_basic=round_rule(share(std, p.tk_num, p.tk_den), p.round_quantum, p.round_mode),
        tekun_care=round_rule(care, p.round_quantum, p.round_mode),
    )


def authorised(T) -> ibis.Table:
    """Households whose valid authorisation covers every living current member and every data category."""
    m = T["member_keys"]
    living = m.filter(m.deceased_on.isnull() | (m.deceased_on > m.as_of)).select(
        l_household=_.household_key, l_person=_.person_key, l_as_of=_.as_of
    )
    needed = living.group_by(n_household=_.l_household).aggregate(needed=_.l_person.count())
    a, ap = T["authorisations"], T["authorised_persons"]
    covered = living.join(a, living.l_household == a.household_key).filter(
        (_.signed_on <= _.l_as_of) & (_.valid_until >= _.l_as_of) & _.all_categories
    )
    covered = (
        covered.join(ap, [covered.authorisation_id == ap.authorisation_id, covered.l_person == ap.person_key])
        .group_by(c_household=_.l_household, c_auth=_.authorisation_id)
        .aggregate(covered=_.l_person.count())
    )
    ok = covered.join(needed, [covered.c_household == needed.n_household, covered.covered == needed.needed])
    return ok.group_by(a_household=ok.c_household).aggregate(authorisation_id=ok.c_auth.max())


def household_totals(T) -> ibis.Table:
    """Per household: the members' totals, the authorisation and the parameters in force."""
    p = T["persons"]
    inc = p.included
    tekun_ready = inc & p.unable_to_work
    h = p.group_by(household_key=p.household_key).aggregate(
        members=p.person_key.count(),
        n=inc.sum(),
        counted_gross=p.counted.sum(where=inc),
        excluded_income=p.excluded_income.sum(where=inc),
        deductions=p.deductions.sum(where=inc),
        uplift=p.uplift.sum(),
        financial=p.financial.sum(where=inc),
        vehicles=p.vehicles.sum(where=inc),
        vehicle_max=p.vehicle_max.max(where=inc),
        residential=p.residential.sum(where=inc),
        nonresidential=p.nonresidential.sum(where=inc),
        businesses=p.businesses.sum(where=inc),
        rigid_total=p.rigid.sum(where=inc),
        housing_fund_base=p.housing_fund_base.max(where=inc),
        without_data=(inc & ~p.has_data).sum(),
        unable=tekun_ready.sum(),
        able=(inc & ~p.unable_to_work).sum(),
        supporter_none=(tekun_ready & (p.supporter == "none")).sum(),
        supporter_unknown=(tekun_ready & (p.supporter == "unknown")).sum(),
        tekun_amount_all=(p.tekun_basic + p.tekun_care).sum(where=tekun_ready & (p.supporter == "none")),
        county=p.county.max(),
        area_type=p.area_type.max(),
    )
    auth = T["authorised"]
    h = h.left_join(auth, h.household_key == auth.a_household).drop("a_household")
    prm = T["params"]
    return h.join(prm, [h.county == prm.county, h.area_type == prm.area_type]).select(
        h, *[prm[c] for c in PARAMS if c not in ("county", "area_type")]
    )


def household_base(T) -> ibis.Table:
    """The amounts the tests compare: members counted, income after deductions, the need, asset totals."""
    h = T["household_totals"]
    n = h.n.fill_null(0)
    counted = ibis.greatest(h.counted_gross.fill_null(0) - h.deductions.fill_null(0), 0)
    need = h.std.fill_null(0) * n
    return h.mutate(
        n=n,
        configured=h.std.notnull(),
        counted=counted,
        need=need,
        financial=h.financial.fill_null(0),
        fin_limit=ibis.ifelse(h.fin_months.isnull(), ibis.null("int64"), h.fin_months * need),
        vehicles=h.vehicles.fill_null(0),
        income12=counted * 12,
        rigid_total=h.rigid_total.fill_null(0),
    )


def household_tests(T) -> ibis.Table:
    """Each test on its own: income against the standard, each asset rule, the edge and rigid-expense lines."""
    h = T["household_base"]
    n, configured, counted, need = h.n, h.configured, h.counted, h.need
    vehicle_ok = ibis.cases(
        (h.vehicle_rule == "no_motor_vehicle", h.vehicles == 0),
        (h.vehicle_rule == "value_cap", h.vehicle_cap.isnull() | (h.vehicle_max.fill_null(0) <= h.vehicle_cap)),
        else_=True,
    )
    property_ok = (h.max_residential.isnull() | (h.residential.fill_null(0) <= h.max_residential)) & (
        h.nonresidential_allowed | (h.nonresidential.fill_null(0) == 0)
    )
    business_ok = h.business_allowed | (h.businesses.fill_null(0) == 0)
    financial_ok = h.fin_limit.isnull() | (h.financial <= h.fin_limit)
    return h.mutate(
        vehicle_ok=vehicle_ok,
        property_ok=property_ok,
        business_ok=business_ok,
        financial_ok=financial_ok,
        assets_ok=financial_ok & vehicle_ok & property_ok & business_ok,
        income_ok=configured & (n > 0) & (counted < need),
        edge_income=configured & (n > 0) & (counted * h.edge_den < h.edge_num * need),
        rigid_income_ok=h.disposable_income.notnull() & (n > 0) & (h.income12 < h.disposable_income * n),
        rigid_exceeds=h.rigid_num.notnull()
        & (h.rigid_total * h.rigid_den > h.rigid_num * h.income12)
        & (h.rigid_total > 0),
    )


def households(T) -> ibis.Table:
    """The verdicts per household (DOMAIN.md §1 低保 and amount, §4 低保边缘 and 刚性支出困难, §2 特困)."""
    h = T["household_tests"]
    n, std, configured, counted, need = h.n, h.std, h.configured, h.counted, h.need
    financial, fin_limit, vehicles, income12, rigid_total = (
        h.financial,
        h.fin_limit,
        h.vehicles,
        h.income12,
        h.rigid_total,
    )
    vehicle_ok, property_ok, business_ok, financial_ok = h.vehicle_ok, h.property_ok, h.business_ok, h.financial_ok
    assets_ok, income_ok, edge_income = h.assets_ok, h.income_ok, h.edge_income
    rigid_income_ok, rigid_exceeds = h.rigid_income_ok, h.rigid_exceeds
    dibao = income_ok & assets_ok
    edge_income = configured & (n > 0) & (counted * h.edge_den < h.edge_num * need)
    edge = ~income_ok & edge_income & assets_ok
    gap = ibis.ifelse(dibao, need - counted, 0)
    amount = ibis.ifelse(dibao, round_rule(gap + h.uplift.fill_null(0), h.round_quantum, h.round_mode), 0)
    tekun_conditions = (h.unable.fill_null(0) > 0) & income_ok & assets_ok
    tekun = tekun_conditions & (h.supporter_none.fill_null(0) > 0)
    # Presumed 特困 only where nobody in the household could support: with an able-bodied member, the investigation
    # must first find that no one can (a "no supporter" finding), before it is even a candidate.
    tekun_pending = tekun_conditions & ~tekun & (h.supporter_unknown.fill_null(0) > 0) & (h.able.fill_null(0) == 0)
    rigid = ~dibao & ~edge & ~tekun & assets_ok & rigid_income_ok & rigid_exceeds
    return h.select(
        "household_key",
        "county",
        "area_type",
        "authorisation_id",
        "fin_months",
        "edge_num",
        "edge_den",
        members=h.members,
        n=n,
        std=std,
        configured=configured,
        counted=counted,
        counted_gross=h.counted_gross.fill_null(0),
        excluded_income=h.excluded_income.fill_null(0),
        deductions=h.deductions.fill_null(0),
        per_capita=ibis.ifelse(n > 0, div_half_up(counted, ibis.greatest(n, 1)), 0),
        need=need,
        edge_limit=ibis.ifelse(configured, div_half_up(h.edge_num * need, h.edge_den), 0),
        financial=financial,
        financial_limit=fin_limit,
        financial_ok=financial_ok,
        vehicles=vehicles,
        vehicle_max=h.vehicle_max.fill_null(0),
        vehicle_ok=vehicle_ok,
        residential=h.residential.fill_null(0),
        nonresidential=h.nonresidential.fill_null(0),
        property_ok=property_ok,
        businesses=h.businesses.fill_null(0),
        business_ok=business_ok,
        assets_ok=assets_ok,
        income_ok=income_ok,
        dibao=dibao,
        gap=gap,
        uplift=ibis.ifelse(dibao, h.uplift.fill_null(0), 0),
        dibao_amount=amount,
        edge=edge,
        unable=h.unable.fill_null(0),
        tekun=tekun,
        tekun_pending=tekun_pending,
        tekun_amount=ibis.ifelse(tekun, h.tekun_amount_all.fill_null(0), 0),
        income12=income12,
        rigid_total=rigid_total,
        rigid_income_ok=rigid_income_ok,
        rigid_exceeds=rigid_exceeds,
        rigid=rigid,
        without_data=h.without_data.fill_null(0),
        housing_fund_base=h.housing_fund_base.fill_null(0),
    )


def evidence(T) -> ibis.Table:
    """The rows behind a verdict (for the report): every item with its source, snapshot and row number."""
    e, m, rules_ = T["items"], T["members"], T["item_rules"]
    county = m.select(e_person=m.person_key, e_county=m.county)
    e = e.join(county, e.person_key == county.e_person)
    return e.left_join(rules_, [e.e_county == rules_.county, e.item == rules_.item]).select(
        e.household_key,
        e.person_key,
        e.source,
        e.snapshot_id,
        e.row_no,
        e.item,
        e.role,
        e.cents,
        e.divisor,
        counted=rules_.counted.fill_null(e.role == "income"),
    )


# The stages in execution order: name -> builder. Outputs the services read: households, persons, evidence.
STAGES: dict = {
    "member_keys": member_keys,
    "late_keys": late_keys,
    **{f"src_{code}": (lambda T, code=code: resolved_source(T, code)) for code in SOURCES},
    "people": people,
    "items": items,
    "person_totals": person_totals,
    "persons": persons,
    "authorised": authorised,
    "household_totals": household_totals,
    "household_base": household_base,
    "household_tests": household_tests,
    "households": households,
    "evidence": evidence,
}
# Which stages each output needs (the evidence is only wanted for one household at the window).
NEEDS = {
    "households": [s for s in STAGES if s not in ("items", "evidence")],
    "persons": [s for s in STAGES if s not in ("items", "evidence", "authorised") and not s.startswith("household")],
    "evidence": ["member_keys", "late_keys", *[s for s in STAGES if s.startswith("src_")], "items", "evidence"],
}


@cache
def _expressions() -> dict[str, ibis.Table]:
    """Each stage's expression over unbound tables named after the inputs and the earlier stages."""
    T = {name: ibis.table(schema, name=name) for name, schema in INPUTS.items()}
    T.update({raw_table_name(code): ibis.table(source_schema(code), name=raw_table_name(code)) for code in SOURCES})
    out = {}
    for name, build in STAGES.items():
        out[name] = build(T)
        T[name] = ibis.table(out[name].schema(), name=name)
    return out


@cache
def compiled(dialect: str) -> dict[str, str]:
    """Each stage's SQL, compiled once per process and dialect."""
    return {name: ibis.to_sql(expr, dialect=dialect) for name, expr in _expressions().items()}


def stage_schema(name: str) -> dict[str, str]:
    """A stage's output columns and their types (the names `rules` uses for input types)."""
    return {column: _type_name(t) for column, t in _expressions()[name].schema().items()}


def _type_name(dtype) -> str:
    if dtype.is_decimal():
        return f"decimal({dtype.precision},{dtype.scale})"
    return str(dtype.copy(nullable=True))

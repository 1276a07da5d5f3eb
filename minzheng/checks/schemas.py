"""The tables the checking rules read (`rules.py`): their columns and types, shared by every engine that binds them
(DuckDB, SQLite at the window, Spark) and by `inputs.py`, which builds them from the database."""

MEMBERS = {
    "household_key": "int64",
    "person_key": "int64",
    "id_number": "string",
    "county": "int64",
    "area_type": "string",
    "birth_date": "date",
    "disability_category": "string",
    "disability_grade": "int64",
    "self_care": "string",
    "deceased_on": "date",
}
DECLARATIONS = {"household_key": "int64", "person_key": "int64", "kind": "string", "item": "string", "cents": "int64"}
AUTHORISATIONS = {
    "authorisation_id": "int64",
    "household_key": "int64",
    "signed_on": "date",
    "valid_until": "date",
    "all_categories": "boolean",
}
AUTHORISED_PERSONS = {"authorisation_id": "int64", "person_key": "int64"}
ITEM_RULES = {"county": "int64", "item": "string", "role": "string", "counted": "boolean"}
PARAMS = {
    "county": "int64",
    "area_type": "string",
    "as_of": "date",
    "income_from": "date",  # first day counted in the income period
    "rigid_from": "date",  # first day of the rigid-spending look-back
    "lookback_months": "int64",
    "std": "int64",  # 低保 standard, fen per month; NULL when not configured
    "edge_num": "int64",
    "edge_den": "int64",
    "emp_base": "string",  # none / min_wage / wage
    "emp_num": "int64",
    "emp_den": "int64",
    "min_wage": "int64",
    "deduct_medical": "boolean",
    "elderly_age": "int64",
    "up_elderly_num": "int64",
    "up_elderly_den": "int64",
    "up_minor_num": "int64",
    "up_minor_den": "int64",
    "up_disability_num": "int64",
    "up_disability_den": "int64",
    "up_illness_num": "int64",
    "up_illness_den": "int64",
    "fin_months": "int64",  # NULL = no limit
    "vehicle_rule": "string",
    "vehicle_cap": "int64",
    "vehicle_exempt": "string",  # ",motorcycle,farm," (comma-wrapped for a LIKE-free containment test)
    "max_residential": "int64",
    "nonresidential_allowed": "boolean",
    "business_allowed": "boolean",
    "round_quantum": "int64",
    "round_mode": "string",
    "tk_num": "int64",
    "tk_den": "int64",
    "care_self_num": "int64",
    "care_self_den": "int64",
    "care_partial_num": "int64",
    "care_partial_den": "int64",
    "care_full_num": "int64",
    "care_full_den": "int64",
    "tk_elderly_age": "int64",
    "tk_minor_age": "int64",
    "tk_student_age": "int64",  # NULL = no age limit while in full-time education
    "rigid_num": "int64",  # NULL when the local share is not configured
    "rigid_den": "int64",
    "disposable_income": "int64",  # fen per year; NULL when not configured
}
MINOR_AGE = 18  # 未成年人: the Civil Code's definition, not a policy parameter

INPUTS = {
    "members": MEMBERS,
    "declarations": DECLARATIONS,
    "authorisations": AUTHORISATIONS,
    "authorised_persons": AUTHORISED_PERSONS,
    "item_rules": ITEM_RULES,
    "params": PARAMS,
}

"""A small population over two counties of 张家口 (1307) with the city's wage delivery, authorisations and local
standards: the city sets 600 (rural) / 800 (urban), 张北县 (130722) overrides the rural standard with 620."""

import datetime

import pytest

from minzheng.checks.tests.conftest import wages
from minzheng.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    START,
    URBAN_VILLAGE,
    VILLAGE,
    make_id_number,
)
from minzheng.core.months import first_of_next_month

D = datetime.date
# Adoption writes parameters that take effect later: the scenario's date is always in the future.
FROM = first_of_next_month(datetime.date.today())
PERIOD = FROM - datetime.timedelta(days=1)
SIGNED = datetime.date.today() - datetime.timedelta(days=30)

LOCAL = {
    "dibao__standard_rural": "600",
    "dibao__standard_urban": "800",
    "local__min_wage": "2000",
    "dibao__employment_cost_base": "min_wage",
    "dibao__employment_cost_rate": "0.1",
}


@pytest.fixture
def leader(make_user):
    return make_user("leader", region=CITY, username="leader")


@pytest.fixture
def county_leader(make_user):
    return make_user("leader", region=COUNTY)


@pytest.fixture
def setter(make_user):
    return make_user("admin", region=CITY, username="paramsetter")


@pytest.fixture
def population(make_user, household_data, set_params, make_snapshot):
    """Seven households. Monthly wages (before the 200 employment-cost deduction) and what they give:
    张北县 rural (standard 620): 甲 3 people 1,700 → 1,500 counted, 500 pc; 乙 1 person 800 → 600 pc (above 620? no:
    below → 20); 丙 1 person 880 → 680 pc (边缘 before, 低保 at +15 %: 713); 丁 1 person 3,000 → rich.
    张北县 urban (800): 戊 2 people 1,900 → 1,700 counted, 850 pc (not 低保 at 800, 低保 at 864).
    桥东区 rural (600): 己 1 person 850 → 650 pc (边缘 before, 低保 at 690); 庚 1 person 0, no authorisation."""
    from minzheng.checks import services as checks
    from minzheng.registry import services as registry

    set_params(region=CITY, **LOCAL)
    set_params(region=COUNTY, dibao__standard_rural="620")
    officers = {
        COUNTY: make_user("county_approver", region=COUNTY),
        OTHER_COUNTY: make_user("county_approver", region=OTHER_COUNTY),
    }
    people = []

    def household(village, county, area, names, wage):
        seq = len(people) * 10 + 11
        members = [
            (("02" if i == 0 else "10" if i == 1 else "20"), name, make_id_number(area=county[:6], seq=seq + i * 2))
            for i, name in enumerate(names)
        ]
        h = registry.create_household(officers[county], household_data(village, members, area_type=area))
        people.append((h, members[0][2], wage))
        return h

    made = {
        "甲": household(VILLAGE, COUNTY, "rural", ["王大山", "李秀兰", "王小明"], "1700"),
        "乙": household(VILLAGE, COUNTY, "rural", ["赵一"], "800"),
        "丙": household(VILLAGE, COUNTY, "rural", ["钱二"], "880"),
        "丁": household(VILLAGE, COUNTY, "rural", ["孙三"], "3000"),
        "戊": household(URBAN_VILLAGE, COUNTY, "urban", ["周四", "吴五"], "1900"),
        "己": household(OTHER_COUNTY_VILLAGE, OTHER_COUNTY, "rural", ["郑六"], "850"),
        "庚": household(OTHER_COUNTY_VILLAGE, OTHER_COUNTY, "rural", ["冯七"], "0"),
    }
    rows = []
    for _h, id_number, wage in people:
        if wage != "0":
            rows += wages(id_number, wage, before=FROM)
    make_snapshot("wage", rows, region=CITY, period=PERIOD)
    for key, h in made.items():
        if key != "庚":
            county = COUNTY if h.region_id.startswith("130722") else OTHER_COUNTY
            checks.record_authorisation(h, user=officers[county], signed_on=SIGNED)
    return made


__all__ = ["START"]

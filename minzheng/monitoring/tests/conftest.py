import datetime

import pytest

from minzheng.conftest import VILLAGE, make_id_number

D = datetime.date
# Sweeps look at the past: the base date is before any day these tests run on.
AS_OF = D(2026, 11, 1)
ENTERED = D(2025, 1, 1)


@pytest.fixture
def county_officer(make_user):
    return make_user("county_approver")


@pytest.fixture
def assistant(make_user):
    return make_user("assistant")


@pytest.fixture
def make_household(county_officer, household_data):
    """A household of the test village; `seq` keeps identity numbers apart between households."""
    from minzheng.registry import services as registry

    counter = {"n": 0}

    def make(size: int = 3, region: str = VILLAGE, area_type: str = "rural"):
        counter["n"] += 1
        base = counter["n"] * 10
        rels = ["02", "12", "20", "20", "20"]
        members = [
            (rels[i], f"成员{base + i}", make_id_number(birth=f"19{70 + i}0101", seq=base + i)) for i in range(size)
        ]
        return registry.create_household(county_officer, household_data(region, members, area_type=area_type))

    return make


@pytest.fixture
def monitor():
    """Put every current member of a household in a monitored category (as a decision would)."""
    from minzheng.monitoring.models import EntrySource, MonitoredEntry

    def put(household, category: str = "dibao", start_on: datetime.date = ENTERED):
        for m in household.current_memberships():
            MonitoredEntry.objects.create(
                person=m.person,
                household=household,
                region_id=household.region_id,
                category=category,
                start_on=start_on,
                source=EntrySource.MANUAL,
            )

    return put


@pytest.fixture
def sweep(county_officer):
    """Run a sweep of the county as of AS_OF, synchronously."""
    from minzheng.monitoring import services

    def run(as_of: datetime.date = AS_OF, region: str = "130722000000"):
        started = services.start_sweep(county_officer, region, as_of, enqueue=False)
        return services.run_sweep(started.pk)

    return run


def ids(household) -> list[str]:
    return [m.person.id_number for m in household.current_memberships()]


# --- service-level suite helpers (test_rules, test_feeds, test_followup, test_register) ----------------------------


@pytest.fixture
def make_household_in(make_user, household_data):
    """A household anywhere (another county, another township), created by a county officer of that county."""
    from minzheng.conftest import ROLE_REGIONS
    from minzheng.regions import codes
    from minzheng.registry import services as registry

    counter = {"n": 0}
    officers: dict[str, object] = {}

    def make(region: str, size: int = 2):
        county = codes.canonical(region[:6])
        if county not in officers:
            officers[county] = (
                make_user("county_approver")
                if county == ROLE_REGIONS["county_approver"]
                else make_user("county_approver", region=county)
            )
        counter["n"] += 1
        base = 500 + counter["n"] * 10
        members = [
            (["02", "12", "20"][i], f"外户{base + i}", make_id_number(birth=f"19{55 + i}0505", seq=base + i))
            for i in range(size)
        ]
        return registry.create_household(officers[county], household_data(region, members))

    return make


@pytest.fixture
def signal(make_snapshot):
    """One departmental signal row for a member of a household, in its own snapshot (a delivery)."""

    def make(feed: str, household_or_id, member: int = 0, *, period: datetime.date = AS_OF, region=None, **fields):
        number = household_or_id if isinstance(household_or_id, str) else ids(household_or_id)[member]
        kwargs = {"period": period} if region is None else {"period": period, "region": region}
        return make_snapshot(feed, [{"id_number": number, **fields}], **kwargs)

    return make


@pytest.fixture
def alerts():
    """The warnings raised so far, as a list (newest last)."""
    from minzheng.monitoring.models import Alert

    def get(**filters):
        return list(Alert.objects.filter(**filters).order_by("id"))

    return get

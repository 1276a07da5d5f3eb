import datetime

import pytest

from minzheng.conftest import AS_OF, SIGNED_ON, START, VILLAGE, make_id_number

D = datetime.date
__all__ = ["AS_OF", "SIGNED_ON", "START"]


@pytest.fixture
def officer(make_user):
    return make_user("county_approver")


@pytest.fixture
def family(officer, household_data):
    """Worked example 1's rural household of three: an earner, a spouse, a student."""
    from minzheng.registry import services as registry

    return registry.create_household(
        officer,
        household_data(
            VILLAGE,
            [
                ("02", "王大山", make_id_number(seq=11)),
                ("12", "李秀兰", make_id_number(birth="19820202", seq=22)),
                ("20", "王小明", make_id_number(birth="20080303", seq=31)),
            ],
            area_type="rural",
        ),
    )


@pytest.fixture
def authorised(officer):
    from minzheng.checks import services

    def sign(household, on: datetime.date = SIGNED_ON, **kw):
        return services.record_authorisation(household, user=officer, signed_on=on, **kw)

    return sign


def member_ids(household) -> list[str]:
    return [m.person.id_number for m in household.current_memberships()]


def wages(id_number: str, amount: str, months: int = 12, before: datetime.date = AS_OF) -> list[dict]:
    """Monthly wage rows for the `months` months before `before`'s month."""
    rows = []
    for i in range(1, months + 1):
        total = before.year * 12 + before.month - 1 - i
        rows.append({"id_number": id_number, "month": D(total // 12, total % 12 + 1, 1), "gross_wage": amount})
    return rows


def case_awaiting_check(clerk, household, today: datetime.date, investigators: list[str]):
    """A 低保 application of `household`, accepted with every material six days ago, investigated and with the
    data check requested five days ago: the case the 登记核对结果 step runs the engine on."""
    from minzheng.cases import services as cases

    case = cases.open_application(
        clerk,
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
        today=today - datetime.timedelta(days=6),
    )
    earlier = today - datetime.timedelta(days=5)
    cases.act(clerk, case.pk, "start_investigation", investigators=investigators, today=earlier)
    cases.act(clerk, case.pk, "request_check", today=earlier)
    return case

import datetime

import pytest

from minzheng.conftest import VILLAGE, make_id_number
from minzheng.registry import services as registry

D = datetime.date
ACCEPTED_ON = D(2025, 3, 3)  # DOMAIN.md worked example 3: a Monday
ALL_DEMANDED = ["application", "authorisation", "pledge", "income_statement"]


@pytest.fixture
def officers(make_user):
    return {
        "clerk": make_user("clerk"),
        "reviewer": make_user("township_reviewer"),
        "county": make_user("county_approver"),
        "assistant": make_user("assistant"),
    }


@pytest.fixture
def household(officers, household_data):
    return registry.create_household(
        officers["clerk"],
        household_data(
            VILLAGE,
            [
                ("02", "王大山", make_id_number(seq=11)),
                ("12", "李秀兰", make_id_number(birth="19820202", seq=22)),
                ("20", "王小明", make_id_number(birth="20120303", seq=31)),
            ],
        ),
    )


@pytest.fixture
def apply(officers, household):
    from minzheng.cases import services

    def make(service="dibao", received=None, signed=True, today=ACCEPTED_ON, **extra):
        return services.open_application(
            officers["clerk"],
            household_id=household.pk,
            service_code=service,
            applicant_id=household.head_id,
            channel=extra.pop("channel", "window"),
            received=ALL_DEMANDED if received is None else received,
            authorisation_signed=signed,
            pledge_signed=signed,
            today=today,
            **extra,
        )

    return make


def record_paper_check(requester, recorder, case_id, today, per_capita_income="500", summary="未见异常"):
    """The 信息核对 a case stands on before it is proposed or approved (issue 15 §1): the township reviewer requests
    it and the county (or the reviewer) records a paper (manual) result, as where the data exchange is unavailable."""
    from minzheng.cases import services

    services.act(requester, case_id, "request_check", today=today)
    return services.act(
        recorder,
        case_id,
        "record_check",
        manual=True,
        summary=summary,
        per_capita_income=per_capita_income,
        today=today,
    )

"""特困 termination (DOMAIN.md §2, TK): a 7-day notice first, the stop from the month after the decision, and the
person moved to 低保 (or 临时救助) by an application opened on their behalf."""

import datetime

import pytest

from minzheng.benefits import reviews
from minzheng.benefits.models import Entitlement, Status
from minzheng.cases import services
from minzheng.cases.models import Case
from minzheng.core.errors import DomainError

D = datetime.date


@pytest.fixture
def tekun_review(apply, approve_case, household, set_params, officers):
    set_params(dibao__standard_urban="800", local__min_wage="1930")
    household.area_type = "urban"
    household.save()
    case = apply(service="tekun", received=["application", "authorisation", "pledge", "supporters", "self_care"])
    approve_case(case, amount="1683.33", tier="full")
    review = reviews.open_review(officers["county"], household.pk, due_on=None, note="年度复核", today=D(2025, 8, 1))
    c = officers
    services.act(c["clerk"], review.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 8, 1))
    services.act(
        c["assistant"],
        review.pk,
        "complete_investigation",
        findings="本人已恢复劳动能力",
        visit_date="2025-08-01",
        today=D(2025, 8, 2),
    )
    services.act(
        c["reviewer"], review.pk, "first_review", opinion="refuse", reasons="恢复劳动能力", today=D(2025, 8, 3)
    )
    return review


def test_tekun_termination_needs_the_notice_then_stops_next_month_and_moves_to_dibao(tekun_review, officers):
    county = officers["county"]
    ent = Entitlement.objects.get(benefit="tekun")
    with pytest.raises(DomainError, match="终止供养公示（7日）"):
        services.act(county, tekun_review.pk, "refuse", reasons="恢复劳动能力", today=D(2025, 8, 10))
    services.act(county, tekun_review.pk, "notify_termination", reasons="恢复劳动能力", today=D(2025, 8, 10))
    with pytest.raises(DomainError, match="期满后方可"):
        services.act(
            county, tekun_review.pk, "refuse", reasons="恢复劳动能力", effective_month="2025-08", today=D(2025, 8, 16)
        )
    ent.refresh_from_db()
    assert ent.status == Status.ACTIVE  # a refused decision changes nothing
    # Notice 10–17 August; decided on the 17th: the effective month asked for is overridden by TK's "next month".
    services.act(
        county,
        tekun_review.pk,
        "refuse",
        reasons="恢复劳动能力",
        effective_month="2025-08",
        transfer_to="dibao",
        today=D(2025, 8, 17),
    )
    ent.refresh_from_db()
    assert ent.end_month == D(2025, 8, 1)  # August paid, stopped from September
    stop = ent.versions.order_by("-id").first()
    assert (stop.effective_from, stop.status) == (D(2025, 9, 1), "stopped")
    transfer = Case.objects.get(household=tekun_review.household, service__code="dibao")
    assert transfer.channel == "proactive" and transfer.state not in ("approved", "refused")


def test_transfer_is_only_to_dibao_or_temporary_aid(tekun_review, officers):
    county = officers["county"]
    services.act(county, tekun_review.pk, "notify_termination", reasons="恢复劳动能力", today=D(2025, 8, 10))
    with pytest.raises(DomainError, match="低保或临时救助"):
        services.act(
            county, tekun_review.pk, "refuse", reasons="恢复劳动能力", transfer_to="tekun", today=D(2025, 8, 17)
        )

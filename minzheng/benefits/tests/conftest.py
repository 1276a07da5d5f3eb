import datetime

import pytest

from minzheng.cases.tests.conftest import ALL_DEMANDED, apply, household, officers  # noqa: F401
from minzheng.conftest import COUNTY, make_id_number

D = datetime.date


@pytest.fixture
def county_officers(make_user):
    """Two county officers: one prepares, the other approves (maker–checker)."""
    return make_user("county_approver", username="maker"), make_user("county_approver", username="checker")


@pytest.fixture
def approve_case(officers):  # noqa: F811
    """Run a case through to the county decision with paper (manual) check results and approve it."""
    from minzheng.cases import services

    def run(case, amount="300", pci="500", decided=None, tier=None):
        decided = decided or D(2025, 3, 20)
        c = officers
        services.act(
            c["clerk"], case.pk, "start_investigation", investigators=["张工作", "李工作"], today=D(2025, 3, 5)
        )
        services.act(c["reviewer"], case.pk, "request_check", today=D(2025, 3, 5))
        services.act(
            c["county"],
            case.pk,
            "record_check",
            manual=True,
            summary="未见异常",
            per_capita_income=pci,
            today=D(2025, 3, 7),
        )
        if tier:
            items = {k: True for k in ("feeding", "dressing", "transfer", "toileting", "walking", "bathing")}
            for k in list(items)[: {"self": 0, "partial": 2, "full": 4}[tier]]:
                items[k] = False
            services.act(c["assistant"], case.pk, "assess_self_care", items=items, today=D(2025, 3, 8))
        services.act(
            c["assistant"],
            case.pk,
            "complete_investigation",
            findings="属实",
            visit_date="2025-03-05",
            per_capita_income=pci,
            today=D(2025, 3, 10),
        )
        services.act(c["reviewer"], case.pk, "first_review", opinion="approve", amount=amount, today=D(2025, 3, 11))
        services.act(c["reviewer"], case.pk, "end_notice", today=D(2025, 3, 18))
        if case.service.code == "tekun":
            from minzheng.cases.models import Case

            case = Case.objects.get(pk=case.pk)
            if case.spot_check_selected:
                services.act(c["county"], case.pk, "spot_check", findings="抽查属实", today=decided)
        # A decision more than the check's validity after it is confirmed on a stale check: recorded with reasons.
        late = (decided - D(2025, 3, 7)).days > 30
        override = {"override_reasons": "核对后家庭情况无变化，经入户复核属实"} if late else {}
        return services.act(c["county"], case.pk, "approve", amount=amount, today=decided, **override)

    return run


@pytest.fixture
def standards(set_params):
    """DOMAIN.md worked examples: 低保 standard 600 (rural) / 800 (urban), minimum wage 1,930."""
    set_params(
        dibao__standard_rural="600",
        dibao__standard_urban="800",
        local__min_wage="1930",
        region=COUNTY,
    )


@pytest.fixture
def bank(household):  # noqa: F811
    """Give the household a valid debit card (Luhn) in the head's name."""
    from stdnum import luhn

    body = "622848" + "123456789012"
    household.bank_name = "中国农业银行"
    household.bank_account = body + luhn.calc_check_digit(body)
    household.account_holder = household.head.name
    household.save()
    return household


def person_number(seq: int) -> str:
    return make_id_number(seq=seq)

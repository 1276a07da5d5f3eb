"""The report's asset table states the local rule from the parameters the run used: the same record its parameter
table shows (issue 15 §1). Before, the asset table read defaults (当地未设车辆限制, 住宅当地未设上限, 允许) because the
engine's household row does not carry those parameters, while the parameter table said ≤ 30,000 元, 1 套, 否, 否."""

import re

import pytest
from django.urls import reverse

from minzheng.cases.tests.test_documents import pdf_text
from minzheng.checks import services

from .conftest import AS_OF, member_ids, wages
from .test_rules import EXAMPLE_1

pytestmark = pytest.mark.django_db

ASSET_RULES = {
    "dibao__vehicle_rule": "value_cap",
    "dibao__vehicle_value_cap": "30000",
    "dibao__max_residential_properties": 1,
    "dibao__nonresidential_property_allowed": False,
    "dibao__business_registration_allowed": False,
}
EXPECTED = ("单辆评估价值不超过 30,000.00 元", "不超过 1 套", "不得拥有", "不得有存续的市场主体登记")
DEFAULTS = ("当地未设车辆限制", "允许")


@pytest.fixture
def checked(family, set_params, make_snapshot, authorised, officer):
    set_params(**EXAMPLE_1, **ASSET_RULES)
    earner, *_ = member_ids(family)
    make_snapshot("wage", wages(earner, "1500"))
    authorised(family)
    return services.check_household(family.pk, user=officer, as_of=AS_OF)


def test_asset_rules_in_the_html_report_come_from_the_run_parameters(client, officer, checked):
    client.force_login(officer)
    page = client.get(reverse("checks:report", args=[checked.pk])).content.decode()
    assets = re.search(r'data-testid="assets".*?</table>', page, re.S).group(0)
    for text in EXPECTED:
        assert text in assets, text
    for text in DEFAULTS:
        assert text not in assets, text
    params = re.search(r'data-testid="parameters".*?</table>', page, re.S).group(0)
    assert "30000 元" in params


def test_asset_rules_in_the_pdf_report_come_from_the_run_parameters(client, officer, checked):
    client.force_login(officer)
    text = re.sub(r"\s+", "", pdf_text(client.get(reverse("checks:report_pdf", args=[checked.pk])).content))
    for expected in EXPECTED:
        assert expected.replace(" ", "") in text, expected
    assert "当地未设车辆限制" not in text


def test_a_later_parameter_change_does_not_rewrite_an_old_report(client, officer, checked, set_params):
    """The report renders the run's record, not today's values."""
    import datetime

    set_params(on=datetime.date(2026, 11, 1), dibao__vehicle_value_cap="50000")
    client.force_login(officer)
    page = client.get(reverse("checks:report", args=[checked.pk])).content.decode()
    assert "单辆评估价值不超过 30,000.00 元" in page and "50,000.00" not in page

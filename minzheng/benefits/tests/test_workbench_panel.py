"""The payments panel on the workbench (issue 15 §4: held payment lines once payments exist)."""

import re

from django.urls import reverse

from minzheng.benefits.models import PaymentRoll

from .conftest import apply, approve_case, county_officers, household, officers, standards  # noqa: F401
from .test_rolls import prepare


def test_held_lines_are_on_the_county_officers_workbench(client, apply, approve_case, standards, county_officers):  # noqa: F811
    maker, _checker = county_officers
    approve_case(apply())  # no bank account: the pre-payment comparison holds the line
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-04"))
    client.force_login(maker)
    html = client.get(reverse("web:home")).content.decode()
    assert 'data-testid="panel-payments"' in html
    held = re.sub(r"<[^>]+>|\s+", "", re.search(r'data-testid="wb-payments-held"[^>]*>(.*?)</a>', html, re.S).group(1))
    assert held == "暂停待核实1"
    panel = re.search(r'data-testid="panel-payments".*?</section>', html, re.S).group(0)
    assert reverse("benefits:roll", args=[roll.pk]) in panel and "缺少银行账号" in panel


def test_the_panel_buttons_open_the_month_with_rolls_waiting(client, apply, approve_case, standards, county_officers):  # noqa: F811
    """Not the page's default month (often empty): the earliest month with a roll to review or a held line."""
    maker, _checker = county_officers
    approve_case(apply())
    prepare(maker, "2025-04")
    client.force_login(maker)
    html = client.get(reverse("web:home")).content.decode()
    county = reverse("benefits:county")
    href = re.search(r'href="([^"]+)" data-testid="wb-payments-prepared"', html).group(1)
    assert href == f"{county}?month=2025-04"
    # The held lines are all on one roll: the button opens that roll's held lines.
    roll = PaymentRoll.objects.get()
    href = re.search(r'href="([^"]+)" data-testid="wb-payments-held"', html).group(1)
    assert href == reverse("benefits:roll", args=[roll.pk]) + "?state=held"


def test_a_held_line_on_the_roll_links_to_its_household(client, apply, approve_case, standards, county_officers):  # noqa: F811
    """The officer resolving a hold (death, account, duplicate) opens the household from the roll."""
    maker, _checker = county_officers
    case = apply()
    approve_case(case)
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-04"))
    client.force_login(maker)
    html = client.get(reverse("benefits:roll", args=[roll.pk])).content.decode()
    href = re.search(r'href="([^"]+)" data-testid="held-household"', html).group(1)
    assert href == reverse("registry:household", args=[case.household_id])
    assert client.get(href).status_code == 200

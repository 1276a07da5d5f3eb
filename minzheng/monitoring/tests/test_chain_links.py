"""The rescue chain and a warning's evidence link only to pages the reader may open (issue 15 §3: the clerk's chain
linked to a check report that answered 403)."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.conftest import SIGNED_ON

pytestmark = pytest.mark.django_db


def _links(html: str) -> set[str]:
    return {href for href in re.findall(r'href="(/[^"#]*)', html) if not href.startswith("/static/")}


def test_every_chain_link_opens_for_the_reader(client, make_household, monitor, county_officer, make_user):
    from minzheng.checks import services as checks

    household = make_household()
    monitor(household, "dibao")
    checks.record_authorisation(household, user=county_officer, signed_on=SIGNED_ON)
    result = checks.check_household(household.pk, user=county_officer, as_of=timezone.localdate())
    report = reverse("checks:report", args=[result.pk])

    client.force_login(county_officer)  # may read check results: the entry links to the report
    html = client.get(reverse("monitoring:chain", args=[household.pk])).content.decode()
    assert report in html

    clerk = make_user("clerk")  # follows warnings, but checking is the county's (DB §17): no report link
    client.force_login(clerk)
    response = client.get(reverse("monitoring:chain", args=[household.pk]))
    html = response.content.decode()
    check_entry = next(e for e in response.context["entries"] if e["kind"] == "check")
    assert check_entry["url"] == "" and report not in html
    for href in _links(html):
        if href.startswith("/accounts/"):
            continue
        assert client.get(href).status_code == 200, href

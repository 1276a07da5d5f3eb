"""The batch re-check's differences become 复核 cases for the households it flags (issue 17 §3): a button on the run
page for the county officer; stops and amount changes only; once per household; nothing about the benefit changes."""

import pytest
from django.urls import reverse

from minzheng.benefits.models import Entitlement
from minzheng.cases.models import Case
from minzheng.checks import services
from minzheng.core.errors import DomainError, PermissionDeniedError
from minzheng.core.models import AuditEntry

from .conftest import AS_OF
from .test_views import recipients  # noqa: F401  (fixture used by name)

pytestmark = pytest.mark.django_db


def _run(officer):
    run = services.start_batch(officer, "130722000000", AS_OF, enqueue=False)
    services.run_batch(run.pk)
    return run


def test_run_page_opens_review_cases_for_flagged_households(client, officer, recipients):  # noqa: F811
    run = _run(officer)
    before = dict(Entitlement.objects.values_list("household_id", "amount_fen"))
    client.force_login(officer)
    page = client.get(reverse("checks:run", args=[run.pk])).content.decode()
    assert 'data-testid="open-reviews"' in page and "为差异家庭发起复核（2 户）" in page
    assert "style=" not in page.split('data-testid="open-reviews"')[0][-600:]
    response = client.post(reverse("checks:run_reviews", args=[run.pk]), follow=True)
    reviews = Case.objects.filter(service__workflow="review")
    # The family due more and the household whose income now exceeds the standard; not the lapsed authorisation.
    assert set(reviews.values_list("household_id", flat=True)) == {
        recipients["family"].pk,
        recipients["richer"].pk,
    }
    assert all("批量复核第" in " ".join(c.events.values_list("note", flat=True)) for c in reviews)
    assert "已为 2 户发起复核案件" in response.content.decode()
    assert dict(Entitlement.objects.values_list("household_id", "amount_fen")) == before  # nothing changed
    assert AuditEntry.objects.filter(object_type="check_run", object_id=str(run.pk), detail__action="open_reviews")
    # Again: the reviews are open, nothing is opened twice.
    again = client.post(reverse("checks:run_reviews", args=[run.pk]), follow=True).content.decode()
    assert "已为 0 户发起复核案件" in again and "未重复发起" in again
    assert reviews.count() == 2
    # …and the button is gone: every flagged household has its review.
    page = client.get(reverse("checks:run", args=[run.pk])).content.decode()
    assert 'data-testid="open-reviews"' not in page


def test_only_a_county_officer_opens_reviews(client, officer, recipients, make_user):  # noqa: F811
    run = _run(officer)
    township = make_user("township_reviewer")
    with pytest.raises(PermissionDeniedError):
        services.open_reviews(township, run.pk)
    client.force_login(township)
    page = client.get(reverse("checks:run", args=[run.pk])).content.decode()
    assert 'data-testid="open-reviews"' not in page
    assert not Case.objects.filter(service__workflow="review").exists()


def test_an_unfinished_run_opens_nothing(officer, recipients):  # noqa: F811
    run = services.start_batch(officer, "130722000000", AS_OF, enqueue=False)
    with pytest.raises(DomainError, match="尚未完成"):
        services.open_reviews(officer, run.pk)

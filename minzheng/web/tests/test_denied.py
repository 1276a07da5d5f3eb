"""Out-of-scope requests are audited as denied attempts (issue 18 §4): a county officer of 张北县 asking, through the
pages and the API of every app, for records of 桥东区 gets "not found" as before — and now each attempt is in the
audit log, under the officer's region, for the auditor to filter. Refused actions (403) are audited too; asking
for something that does not exist at all is not an attempt on anyone's record."""

import datetime
import json

import pytest
from django.urls import reverse

from minzheng.accounts.models import ApiToken
from minzheng.cases import services as cases
from minzheng.checks.models import CheckResult, CheckRun
from minzheng.conftest import COUNTY, OTHER_COUNTY, OTHER_COUNTY_VILLAGE, ROOT, make_id_number
from minzheng.core.models import AuditEntry
from minzheng.monitoring.models import Sweep
from minzheng.registry import services as registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    return make_user("county_approver")


@pytest.fixture
def elsewhere(make_user, household_data, make_snapshot):
    """Records of 桥东区: a household, its head, a case, a check result, a sweep, a snapshot, a payment roll."""
    from minzheng.benefits.models import PaymentRoll

    national = make_user("admin", ROOT, username="national")
    household = registry.create_household(
        national,
        household_data(OTHER_COUNTY_VILLAGE, [("02", "桥东户主", make_id_number(area="130702", seq=31))]),
    )
    case = cases.open_application(
        national, household_id=household.pk, service_code="dibao", applicant_id=household.head_id, channel="window"
    )
    run = CheckRun.objects.create(kind="single", region_id=OTHER_COUNTY, as_of=datetime.date(2026, 12, 1))
    result = CheckResult.objects.create(run=run, household=household, region_id=household.region_id)
    sweep = Sweep.objects.create(region_id=OTHER_COUNTY, as_of=datetime.date(2026, 11, 1))
    snapshot = make_snapshot("employment", [{"id_number": household.head.id_number}], region=OTHER_COUNTY)
    roll = PaymentRoll.objects.create(county_id=OTHER_COUNTY, benefit="dibao", month=datetime.date(2026, 12, 1))
    return {
        "household": household,
        "person": household.head,
        "case": case,
        "result": result,
        "sweep": sweep,
        "snapshot": snapshot,
        "roll": roll,
    }


def denials(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="denied", **filters).order_by("seq"))


def test_pages_of_every_app_audit_a_request_for_another_regions_record(client, officer, elsewhere):
    e = elsewhere
    pages = [
        ("household", e["household"], reverse("registry:household", args=[e["household"].pk])),
        ("person", e["person"], reverse("registry:person", args=[e["person"].pk])),
        ("person", e["person"], reverse("registry:person_edit", args=[e["person"].pk])),
        ("case", e["case"], reverse("cases:case", args=[e["case"].pk])),
        ("check_result", e["result"], reverse("checks:report", args=[e["result"].pk])),
        ("household", e["household"], reverse("checks:authorise", args=[e["household"].pk])),
        ("sweep", e["sweep"], reverse("monitoring:sweep", args=[e["sweep"].pk])),
        ("household", e["household"], reverse("monitoring:chain", args=[e["household"].pk])),
        ("snapshot", e["snapshot"], reverse("exchange:unmatched", args=[e["snapshot"].pk])),
        ("payment_roll", e["roll"], reverse("benefits:roll", args=[e["roll"].pk])),
    ]
    client.force_login(officer)
    for object_type, obj, url in pages:
        before = len(denials())
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        new = denials()[before:]
        assert len(new) == 1, (url, [(d.object_type, d.object_id) for d in new])
        entry = new[0]
        assert (entry.user, entry.username, entry.region_code) == (officer, officer.username, COUNTY), url
        assert (entry.object_type, entry.object_id) == (object_type, str(obj.pk)), url
        assert entry.detail["reason"] == "out_of_scope" and entry.detail["path"] == url, url
        assert entry.detail["target_region"].startswith("130702"), url
        assert "桥东户主" not in entry.object_label and entry.ip == "127.0.0.1"


def test_the_api_of_every_app_audits_a_request_for_another_regions_record(client, officer, elsewhere):
    e = elsewhere
    _token, raw = ApiToken.issue(officer, "测试")
    requests = [
        ("get", f"/api/v1/registry/households/{e['household'].pk}", None, "household"),
        ("get", f"/api/v1/registry/persons/{e['person'].pk}", None, "person"),
        (
            "put",
            f"/api/v1/registry/persons/{e['person'].pk}",
            {"name": "改", "id_number": make_id_number(seq=5)},
            "person",
        ),
        ("get", f"/api/v1/cases/{e['case'].pk}", None, "case"),
        ("get", f"/api/v1/monitoring/sweeps/{e['sweep'].pk}", None, "sweep"),
        ("get", f"/api/v1/benefits/rolls/{e['roll'].pk}", None, "payment_roll"),
    ]
    for method, url, body, object_type in requests:
        before = len(denials())
        response = getattr(client, method)(
            url, json.dumps(body) if body else None, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
        assert response.status_code == 404 and response.json()["code"] == "not_found", (url, response.status_code)
        new = denials()[before:]
        assert [(d.user, d.object_type, d.detail["path"]) for d in new] == [(officer, object_type, url)], url


def test_a_record_that_exists_nowhere_is_not_a_denied_attempt(client, officer):
    client.force_login(officer)
    assert client.get(reverse("registry:household", args=[10**9])).status_code == 404
    assert client.get("/api/v1/registry/households/1000000000").status_code == 404
    assert denials() == []


def test_a_refused_action_is_audited_too(client, make_user):
    auditor = make_user("auditor")
    client.force_login(auditor)
    assert client.get(reverse("registry:search")).status_code == 403
    _token, raw = ApiToken.issue(auditor, "t")
    api = client.get("/api/v1/registry/search", {"q": "张"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 403
    page, by_api = denials()
    assert page.user == by_api.user == auditor and page.detail["reason"] == by_api.detail["reason"] == "forbidden"
    assert "无权执行此操作" in page.detail["message"] and by_api.detail["path"] == "/api/v1/registry/search"


def test_the_auditor_filters_denied_attempts_in_the_audit_log(client, officer, elsewhere, make_user):
    client.force_login(officer)
    client.get(reverse("registry:household", args=[elsewhere["household"].pk]))
    client.force_login(make_user("auditor"))
    page = client.get(reverse("web:audit"), {"action": "denied"})
    content = page.content.decode()
    assert page.status_code == 200 and "越权访问被拒" in content and officer.username in content
    assert "访问其他辖区的记录" in content
    assert all(e.action == "denied" for e in page.context["entries"]) and page.context["entries"]

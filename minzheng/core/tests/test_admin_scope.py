"""The admin is for configuration, scoped to the administrator's region and audited (issue 18 §4): the administrator
of 张家口市 cannot see a 保定市 object through any admin address, personal records are not in the admin at all, and
every change made there is in the audit log."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from minzheng.accounts.models import ApiToken, User
from minzheng.cases.models import InterestDeclaration
from minzheng.conftest import CITY, COUNTY, PASSWORD, VILLAGE, make_id_number
from minzheng.core.models import AuditEntry
from minzheng.policy.models import Parameter
from minzheng.regions.importer import import_regions
from minzheng.regions.models import Region

pytestmark = pytest.mark.django_db

BAODING_COUNTY = "130602000000"  # 保定市竞秀区
BAODING_VILLAGE = "130602001002"  # 竞秀区…天翔社区居民委员会
MARK = "保定专有"  # in every 保定 object's visible text


@pytest.fixture
def city_admin(make_user, client):
    user = make_user("admin", region=CITY, is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def baoding(make_user):
    """One 保定 object of every kind the admin holds."""
    import_regions("130602")
    officer = make_user("county_approver", region=BAODING_COUNTY, username="baoding_officer", last_name=MARK)
    token, _raw = ApiToken.issue(officer, f"{MARK}令牌")
    attempt = AccessAttempt.objects.create(
        username=officer.username, ip_address="10.0.0.1", user_agent=MARK, failures_since_start=5
    )
    parameter = Parameter.objects.create(
        key="dibao.standard_urban",
        region_id=BAODING_COUNTY,
        effective_from=datetime.date(2030, 1, 1),
        value=999,
        basis=MARK,
    )
    declaration = InterestDeclaration.objects.create(
        id_number=make_id_number(area="130602", seq=7),
        name=MARK,
        kind="staff",
        related_to="本人",
        region_id=BAODING_VILLAGE,
    )
    return {
        User: officer,
        ApiToken: token,
        AccessAttempt: attempt,
        Parameter: parameter,
        InterestDeclaration: declaration,
        Region: Region.objects.get(pk=BAODING_VILLAGE),
    }


def admin_url(obj, view: str = "change") -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def test_every_admin_address_of_a_baoding_object_is_not_found_for_the_zhangjiakou_administrator(
    client, city_admin, baoding
):
    assert set(baoding) == {model for model in admin.site._registry if _scoped(model)}
    for model, obj in baoding.items():
        meta = model._meta
        listing = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert listing.status_code == 200, meta.label
        text = listing.content.decode()
        assert MARK not in text and BAODING_VILLAGE not in text and "baoding_officer" not in text, meta.label
        assert obj.pk not in {o.pk for o in listing.context["cl"].queryset}, meta.label
        searched = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), {"q": str(obj.pk)})
        assert searched.status_code == 200 and obj.pk not in {o.pk for o in searched.context["cl"].result_list}
        for view in ("change", "history", "delete"):
            response = client.get(admin_url(obj, view), follow=True)
            text = response.content.decode()
            # Missing (the admin's "does not exist" notice), or refused for every object of the kind alike (403).
            assert "不存在" in text or response.status_code in (403, 404), (meta.label, view)
            assert MARK not in text and "baoding_officer" not in text, (meta.label, view)
    officer = baoding[User]
    password = client.get(reverse("admin:auth_user_password_change", args=[officer.pk]))
    assert password.status_code == 404 and "baoding_officer" not in password.content.decode()
    assert client.post(admin_url(officer), {"username": "taken", "role": "admin"}).status_code == 302
    officer.refresh_from_db()
    assert officer.username == "baoding_officer"
    # Each of those asks is a denied attempt in the audit log, filed under the administrator's region.
    for model, obj in baoding.items():
        denied = AuditEntry.objects.filter(action="denied", object_type=model._meta.model_name, object_id=str(obj.pk))
        if model is not AccessAttempt:  # lockouts are the users', not a region's record
            assert denied.exists(), model._meta.label
            assert {e.region_code for e in denied} == {city_admin.region_id}, model._meta.label
    # The raw-id popup a user's or a parameter's region is chosen in lists the administrator's subtree only.
    popup = client.get(reverse("admin:regions_region_changelist"), {"_popup": "1", "_to_field": "code", "q": "天翔"})
    assert popup.status_code == 200 and popup.context["cl"].result_count == 0
    # "View on site" fetches any object unscoped, and its answers tell what exists: not offered.
    content_type = ContentType.objects.get_for_model(User)
    for pk in (officer.pk, 10**9):
        assert client.get(f"/admin/r/{content_type.pk}/{pk}/").status_code == 404


def _scoped(model) -> bool:
    """Every model the admin holds has rows of a region, except the national configuration."""
    return model._meta.label not in ("core.CalendarYear", "policy.ServiceItem")


def test_the_same_objects_are_the_administrators_own_in_their_region(client, city_admin, make_user):
    officer = make_user("county_approver", last_name="张家口自己")
    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "张家口自己" in listing
    assert client.get(admin_url(officer)).status_code == 200


@pytest.mark.parametrize(
    "label",
    [
        "registry.Person",
        "registry.Household",
        "registry.Membership",
        "cases.Case",
        "checks.CheckResult",
        "checks.CheckRun",
        "exchange.Snapshot",
        "monitoring.Alert",
        "monitoring.Visit",
        "monitoring.MonitoredEntry",
        "monitoring.Sweep",
        "benefits.Entitlement",
        "benefits.PaymentRoll",
        "benefits.Recovery",
        "axes.AccessLog",
        "axes.AccessFailureLog",
        "auth.Group",
        "django_q.Schedule",
        "django_q.Failure",
        "core.AuditEntry",
    ],
)
def test_personal_records_are_not_in_the_admin(client, city_admin, label):
    model = apps.get_model(label)
    assert not admin.site.is_registered(model)
    assert client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/").status_code == 404


def test_a_user_cannot_be_bound_to_a_region_outside_the_administrators(client, city_admin, baoding):
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newcomer",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": "county_approver",
            "region": BAODING_COUNTY,
            "last_name": "新",
            "first_name": "人",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200 and not User.objects.filter(username="newcomer").exists()
    assert "region" in response.context["adminform"].form.errors


def test_changes_in_the_admin_are_in_the_audit_log(client, city_admin, make_user):
    officer = make_user("county_approver")
    response = client.post(
        admin_url(officer),
        {
            "username": officer.username,
            "last_name": "改名",
            "first_name": officer.first_name,
            "email": "",
            "role": officer.role,
            "region": officer.region_id,
            "phone": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(action="update", object_type="user").get()
    assert entry.user == city_admin and entry.object_id == str(officer.pk) and entry.region_code == officer.region_id
    assert "管理后台" in entry.object_label


def test_opening_a_declaration_with_a_full_identity_number_is_audited(client, city_admin):
    declaration = InterestDeclaration.objects.create(
        id_number=make_id_number(seq=9), name="张某", kind="staff", related_to="本人", region_id=VILLAGE
    )
    assert client.get(admin_url(declaration)).status_code == 200
    entry = AuditEntry.objects.filter(action="view", object_type="interestdeclaration").get()
    assert entry.object_id == str(declaration.pk) and entry.region_code == VILLAGE


def test_national_configuration_is_changed_only_by_the_top_administrator(client, city_admin, make_user):
    """The service catalogue and the holiday years hold in every county: 张北县's administrator reads them, and
    cannot change, add or delete them while the city has its own administrator; the city's administrator can."""
    from minzheng.policy.models import ServiceItem

    item = ServiceItem.objects.get(code="dibao")
    change = admin_url(item)
    page = client.get(change).content.decode()
    assert 'name="_save"' in page  # the city's administrator: nobody above
    county_admin = make_user("admin", region=COUNTY, username="admin_zb", is_staff=True, is_superuser=True)
    client.force_login(county_admin)
    page = client.get(change).content.decode()
    assert client.get(change).status_code == 200 and 'name="_save"' not in page and "删除" not in page
    before = (item.name, item.active)
    assert client.post(change, {"name": "改掉", "code": "dibao"}).status_code == 403
    assert client.post(admin_url(item, "delete"), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:policy_serviceitem_add")).status_code == 403
    assert client.get(reverse("admin:core_calendaryear_add")).status_code == 403
    item.refresh_from_db()
    assert (item.name, item.active) == before
    # Once the city has no active administrator, the county's is the top one of what remains.
    User.objects.filter(pk=city_admin.pk).update(is_active=False)
    assert 'name="_save"' in client.get(change).content.decode()


def test_the_admin_reads_in_chinese(client, city_admin):
    index = client.get(reverse("admin:index")).content.decode()
    assert "登录失败锁定" in index and "Access attempt" not in index and "Axes" not in index
    # An English browser does not turn the admin into English (the platform has one language).
    english = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Site administration" not in english and "站点管理" in english

"""Real-browser walk-through (Playwright driving Debian's Chromium against the live server).

A township window clerk logs in through the login form, finds only the households of their own township, registers
a new household with two members (first with a mistyped identity number), sees identity numbers masked on the
household page and in full on the person page; an auditor then finds the creation and the views in the audit log.
A second test shows the login throttling.
"""

import re

import pytest
from playwright.sync_api import expect

from minzheng.browser_fixtures import (  # noqa: F401  (fixtures used by name)
    ARTIFACTS,
    browser,
    log_in,
    page,
    requires_chromium,
)
from minzheng.conftest import OTHER_TOWNSHIP, OTHER_VILLAGE, PASSWORD, VILLAGE, make_id_number

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]

HEAD_ID = make_id_number("130722", "19800101", 11)  # male
SPOUSE_ID = make_id_number("130722", "19820305", 22)  # female
# Same number with a different last character: the check digit no longer matches.
BAD_SPOUSE_ID = SPOUSE_ID[:-1] + ("1" if SPOUSE_ID[-1] != "1" else "2")


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


def existing_household(user, village: str, name: str, number: str):
    from minzheng.registry.services import HouseholdData, MemberData, PersonData, create_household

    return create_household(
        user,
        HouseholdData(
            region_code=village,
            address=f"{name}家",
            members=[MemberData("02", PersonData(name=name, id_number=number))],
        ),
    )


def member_card(form_page, index: int):
    """The n-th member card of the household form (cards added by “添加成员” have no data-testid until re-render)."""
    return form_page.locator(".member-form").nth(index)


def test_clerk_registers_household_and_auditor_sees_it(page, live_server, regions, make_user):  # noqa: F811
    from minzheng.core.models import AuditEntry
    from minzheng.registry.models import Household, Person

    clerk = make_user("clerk")  # 张北镇 130722100000
    auditor = make_user("auditor")  # 张家口市 1307
    own = existing_household(make_user("clerk"), VILLAGE, "李明", make_id_number("130722", "19700202", 31))
    other = existing_household(
        make_user("clerk", region=OTHER_TOWNSHIP), OTHER_VILLAGE, "李强", make_id_number("130722", "19710303", 33)
    )

    # --- log in through the real form (arriving from a bookmarked page, so the form carries ?next=)
    page.goto("/registry/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    log_in(page, clerk.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/registry/$"))
    expect(page.get_by_test_id("whoami")).to_contain_text("张北镇")

    # --- search: the clerk's township only
    page.get_by_role("searchbox", name="查询").fill("李")
    page.get_by_role("button", name="查询").click()
    persons = page.get_by_test_id("person-results")
    households = page.get_by_test_id("household-results")
    expect(persons).to_contain_text("李明")
    expect(persons).to_contain_text(masked(own.head.id_number))
    expect(persons).not_to_contain_text("李强")
    expect(households.get_by_role("link", name=own.number)).to_be_visible()
    expect(households).not_to_contain_text(other.number)

    households.get_by_role("link", name=own.number).click()
    expect(page.get_by_test_id("household-number")).to_have_text(own.number)
    expect(page.get_by_test_id("members")).to_contain_text("李明")

    # --- the other township's household, opened by URL: a 404 page that shows nothing of it
    response = page.goto(f"/registry/households/{other.pk}/")
    assert response is not None and response.status == 404
    expect(page.locator("body")).not_to_contain_text("李强")

    # --- register a new household
    page.goto("/registry/")
    page.get_by_role("link", name="登记新家庭").click()
    expect(page.get_by_role("heading", name="登记新家庭")).to_be_visible()
    page.get_by_label("户籍所在村（社区）").select_option(VILLAGE)
    page.get_by_label("家庭住址").fill("张北县张北镇南壕堑村18号")
    head = page.get_by_test_id("member-0")
    expect(head.get_by_label("与户主关系")).to_have_value("02")  # 户主
    head.get_by_label("姓名").fill("王建国")
    head.get_by_label("公民身份号码").fill(HEAD_ID)

    page.get_by_role("button", name="添加成员").click()
    spouse = member_card(page, 1)
    spouse.get_by_label("与户主关系").select_option("12")  # 妻
    spouse.get_by_label("姓名").fill("刘秀英")
    spouse.get_by_label("公民身份号码").fill(BAD_SPOUSE_ID)
    page.get_by_role("button", name="保存").click()

    # The form comes back with the error under the spouse's number, and nothing was written.
    spouse = page.get_by_test_id("member-1")
    expect(spouse.get_by_test_id("error-id_number")).to_contain_text("校验位")
    expect(page.get_by_test_id("member-0").get_by_test_id("error-id_number")).to_have_count(0)
    expect(page.get_by_test_id("member-0").get_by_label("姓名")).to_have_value("王建国")
    assert Household.objects.count() == 2
    assert not Person.objects.filter(name__in=["王建国", "刘秀英"]).exists()

    spouse.get_by_label("公民身份号码").fill(SPOUSE_ID)
    page.get_by_role("button", name="保存").click()

    # --- the household page: both members, identity numbers masked
    expect(page).to_have_url(re.compile(r"/registry/households/\d+/$"))
    expect(page.get_by_role("alert")).to_contain_text("登记成功")
    household_pk = int(re.search(r"/households/(\d+)/", page.url).group(1))
    household = Household.objects.get(pk=household_pk)
    expect(page.get_by_test_id("household-number")).to_have_text(household.number)
    members = page.get_by_test_id("members")
    expect(members.locator("tbody tr")).to_have_count(2)
    head_row = members.locator("tbody tr").filter(has_text="王建国")
    spouse_row = members.locator("tbody tr").filter(has_text="刘秀英")
    expect(head_row).to_contain_text("户主")
    expect(head_row).to_contain_text(masked(HEAD_ID))
    expect(spouse_row).to_contain_text("妻")
    expect(spouse_row).to_contain_text(masked(SPOUSE_ID))
    expect(spouse_row).to_contain_text("女")
    content = page.content()
    assert HEAD_ID not in content and SPOUSE_ID not in content

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "household.png"), full_page=True)

    # --- the head's person page shows the full number
    head_row.get_by_role("link", name="王建国").click()
    expect(page.get_by_role("heading", name="王建国")).to_be_visible()
    expect(page.get_by_test_id("full-id")).to_have_text(HEAD_ID)
    head_person = Person.objects.get(id_number=HEAD_ID)
    spouse_person = Person.objects.get(id_number=SPOUSE_ID)
    assert page.url.endswith(f"/registry/persons/{head_person.pk}/")

    # --- log out; the auditor (city level) finds the creation and the views in the audit log
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/audit/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    log_in(page, auditor.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/audit/$"))
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    rows = page.get_by_test_id("audit-table").locator("tbody tr")

    def entry(object_type: str, pk: int, action_label: str):
        kind = {"household": "家庭", "person": "人员"}[object_type]
        return rows.filter(has_text=f"（{kind}，编号{pk}）").filter(
            has=page.locator(".badge", has_text=re.compile(f"^{action_label}$"))
        )

    for object_type, pk, action_label in [
        ("household", household_pk, "新增"),
        ("person", head_person.pk, "新增"),
        ("person", spouse_person.pk, "新增"),
        ("household", household_pk, "查看"),
        ("person", head_person.pk, "查看"),
        ("household", own.pk, "查看"),
    ]:
        row = entry(object_type, pk, action_label)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(clerk.username)
    # The audit log itself never shows the full identity numbers.
    assert HEAD_ID not in page.content()
    # Nothing was written for the refused attempt, and nothing for the other township's household.
    assert not AuditEntry.objects.filter(
        action=AuditEntry.Action.VIEW, object_type="household", object_id=str(other.pk), username=clerk.username
    ).exists()


def test_login_without_next_lands_on_workbench(page, live_server, regions, make_user):  # noqa: F811
    clerk = make_user("clerk")
    page.goto("/accounts/login/")
    log_in(page, clerk.username, PASSWORD)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_contain_text("张北镇")


def test_login_locks_after_five_wrong_passwords(page, live_server, regions, make_user):  # noqa: F811
    clerk = make_user("clerk")
    page.goto("/accounts/login/")
    for attempt in range(5):
        if attempt:
            page.goto("/accounts/login/")
        log_in(page, clerk.username, PASSWORD + "wrong")
        if attempt < 4:
            expect(page.locator(".alert-danger")).to_be_visible()  # “please enter a correct username and password”

    page.goto("/accounts/login/")
    log_in(page, clerk.username, PASSWORD)
    expect(page.get_by_test_id("locked-out")).to_contain_text("锁定")
    expect(page.get_by_test_id("whoami")).to_have_count(0)  # not signed in
    assert "/accounts/login/" in page.url

from django.test import Client
from django.urls import reverse

from minzheng.conftest import VILLAGE, make_id_number
from minzheng.core.masking import mask_id_number
from minzheng.core.models import AuditEntry
from minzheng.registry import services
from minzheng.registry.models import Household, Person

HEAD = make_id_number(seq=11)
WIFE = make_id_number(birth="19820202", seq=22)


def _form(**members):
    data = {
        "region_code": VILLAGE,
        "address": "南壕堑村8号",
        "area_type": "",
        "m-TOTAL_FORMS": str(len(members)),
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "1",
        "m-MAX_NUM_FORMS": "30",
    }
    for index, (rel, name, number) in enumerate(members.values()):
        data.update({f"m-{index}-relationship": rel, f"m-{index}-name": name, f"m-{index}-id_number": number})
    return data


def test_create_household_through_the_form(clerk_client):
    response = clerk_client.post(
        reverse("registry:household_create"), _form(a=("02", "张三", HEAD), b=("12", "李四", WIFE.lower()))
    )
    household = Household.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("registry:household", args=[household.pk])
    page = clerk_client.get(response["Location"]).content.decode()
    assert "张三" in page and "李四" in page and "户主" in page
    assert mask_id_number(HEAD) in page and HEAD not in page  # lists are masked


def test_bad_identity_number_shows_chinese_error_and_saves_nothing(clerk_client):
    bad = HEAD[:-1] + ("1" if HEAD[-1] != "1" else "2")
    response = clerk_client.post(
        reverse("registry:household_create"), _form(a=("02", "张三", HEAD), b=("12", "李四", bad))
    )
    assert response.status_code == 200
    assert "校验位不正确" in response.content.decode()
    assert Household.objects.count() == 0 and Person.objects.count() == 0


def test_fifteen_digit_number_refused(clerk_client):
    response = clerk_client.post(reverse("registry:household_create"), _form(a=("02", "张三", "130722800101001")))
    assert "不支持15位" in response.content.decode()


def test_duplicate_person_message_links_to_existing(clerk, clerk_client, household_data):
    existing = services.create_household(clerk, household_data(members=[("02", "张三", HEAD)]))
    response = clerk_client.post(reverse("registry:household_create"), _form(a=("02", "张三", HEAD)))
    content = response.content.decode()
    assert "已登记" in content and reverse("registry:person", args=[existing.head_id]) in content
    assert Household.objects.count() == 1


def test_person_page_shows_full_number_and_is_audited(clerk, clerk_client, household_data):
    household = services.create_household(clerk, household_data(members=[("02", "张三", HEAD)]))
    page = clerk_client.get(reverse("registry:person", args=[household.head_id])).content.decode()
    assert HEAD in page
    entry = AuditEntry.objects.filter(action="view", object_type="person").get()
    assert entry.object_id == str(household.head_id) and entry.username == clerk.username
    assert entry.ip == "127.0.0.1" and HEAD not in entry.object_label


def test_search_by_name_number_and_household(clerk, clerk_client, household_data):
    household = services.create_household(clerk, household_data(members=[("02", "张三", HEAD)]))
    link = reverse("registry:household", args=[household.pk])
    for query in ("张", HEAD.lower(), household.number, str(household.pk)):
        content = clerk_client.get(reverse("registry:search"), {"q": query}).content.decode()
        assert link in content, query
        assert HEAD not in content.replace(f'value="{HEAD.lower()}"', "")
    assert AuditEntry.objects.filter(action="search").count() == 1  # the identity-number lookup


def test_member_actions_on_household_page(clerk, clerk_client, household_data):
    household = services.create_household(clerk, household_data(members=[("02", "张三", HEAD)]))
    url = reverse("registry:member_add", args=[household.pk])
    clerk_client.post(url, {"add-relationship": "12", "add-name": "李四", "add-id_number": WIFE})
    wife = Person.objects.get(id_number=WIFE)
    clerk_client.post(
        reverse("registry:head_change", args=[household.pk]), {"person_id": wife.pk, "old_head_relationship": "11"}
    )
    response = clerk_client.post(
        reverse("registry:member_leave", args=[household.pk]),
        {"person_id": household.head_id, "reason": "外出务工迁出"},
    )
    page = clerk_client.get(response["Location"]).content.decode()
    assert "外出务工迁出" in page  # history keeps the departed member
    household.refresh_from_db()
    assert household.head_id == wife.pk and household.current_memberships().count() == 1


def test_member_forms_have_their_own_page(clerk, clerk_client, make_user, household_data):
    household = services.create_household(clerk, household_data(members=[("02", "张三", HEAD)]))
    members_url = reverse("registry:members", args=[household.pk])
    page = clerk_client.get(reverse("registry:household", args=[household.pk])).content.decode()
    # The household page links to the forms instead of rendering them for every visit.
    assert f'href="{members_url}#add"' in page and 'name="add-name"' not in page
    assert "#head" not in page  # no one else in the household to become its head
    forms = clerk_client.get(members_url).content.decode()
    assert 'name="add-name"' in forms and 'name="in-id_number"' in forms and "变更户主" not in forms
    leader = Client()
    leader.force_login(make_user("leader"))
    assert leader.get(members_url).status_code == 403  # only those who edit the registry
    # A refused form comes back on the forms page as typed, the reason under its field and at the top; nothing added.
    bad = WIFE[:-1] + ("1" if WIFE[-1] != "1" else "2")
    response = clerk_client.post(
        reverse("registry:member_add", args=[household.pk]),
        {"add-relationship": "12", "add-name": "李四", "add-id_number": bad, "add-phone": "13800000000"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="error-id_number"' in page and "校验位" in page
    assert 'value="李四"' in page and f'value="{bad}"' in page and 'value="13800000000"' in page
    assert '<option value="12" selected>' in page
    assert any("校验位" in str(m) for m in response.context["messages"])
    assert not Person.objects.filter(name="李四").exists()
    # A move-in of someone not registered in scope: the number stays, the reason is under it.
    page = clerk_client.post(
        reverse("registry:member_move_in", args=[household.pk]),
        {"in-id_number": make_id_number(seq=99), "in-relationship": "20", "in-reason": "投靠子女"},
    ).content.decode()
    assert "没有找到该公民身份号码对应的人员" in page and 'value="投靠子女"' in page
    clerk_client.post(
        reverse("registry:member_add", args=[household.pk]),
        {"add-relationship": "12", "add-name": "李四", "add-id_number": WIFE},
    )
    forms = clerk_client.get(members_url).content.decode()
    assert "变更户主" in forms and "李四" in forms


def test_household_edit_refuses_stale_version(clerk, clerk_client, household_data):
    household = services.create_household(clerk, household_data())
    data = {"region_code": VILLAGE, "address": "新地址1号", "version": "1"}
    assert clerk_client.post(reverse("registry:household_edit", args=[household.pk]), data).status_code == 302
    response = clerk_client.post(reverse("registry:household_edit", args=[household.pk]), {**data, "address": "旧页面"})
    assert "已被他人修改" in response.content.decode()
    household.refresh_from_db()
    assert household.address == "新地址1号"


def test_organisation_with_letter_authority(clerk, clerk_client):
    from stdnum.cn import uscc

    code = "Y1130722MA0000001" + uscc.calc_check_digit("Y1130722MA0000001")
    data = {"name": "张北县慈善协会", "uscc": code.lower(), "org_type": "social_org", "region_code": "130722100000"}
    assert clerk_client.post(reverse("registry:organisation_create"), data).status_code == 302
    bad = clerk_client.post(
        reverse("registry:organisation_create"), {**data, "uscc": code[:-1] + "0", "name": "另一个"}
    )
    assert "校验位" in bad.content.decode()
    assert "张北县慈善协会" in clerk_client.get(reverse("registry:organisations")).content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("registry:search"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_error_pages_are_chinese(clerk_client, make_user, household_data):
    from minzheng.conftest import OTHER_TOWNSHIP, OTHER_VILLAGE

    other = services.create_household(make_user("clerk", OTHER_TOWNSHIP), household_data(OTHER_VILLAGE))
    missing = clerk_client.get(reverse("registry:household", args=[other.pk]))
    assert missing.status_code == 404 and "不在您的管辖范围内" in missing.content.decode()


def test_auditor_gets_chinese_403_on_people_pages(client, make_user):
    client.force_login(make_user("auditor"))
    response = client.get(reverse("registry:search"))
    assert response.status_code == 403 and "无权" in response.content.decode()

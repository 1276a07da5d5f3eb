"""Division import (counts, idempotency, bad prefixes, the 东莞 and 金门 quirks), codes, subtree queries and the tree UI.

The regions of 张家口 (1307) are imported once per test session by minzheng/conftest.py.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from minzheng.conftest import CITY, COUNTY, OTHER_COUNTY, OTHER_TOWNSHIP, TOWNSHIP, URBAN_VILLAGE, VILLAGE
from minzheng.core.errors import DomainError
from minzheng.regions import codes
from minzheng.regions.importer import count_levels, import_regions
from minzheng.regions.models import Region

EXPECTED_1307 = {codes.CITY: 1, codes.COUNTY: 19, codes.TOWNSHIP: 246, codes.VILLAGE: 4582}
OTHER_VILLAGE_NO_USERS = "130722101203"  # 公会镇, no test user or household is bound to it


# --- import ----------------------------------------------------------------------------------------------------------


def test_1307_counts(db):
    assert count_levels("1307") == EXPECTED_1307
    # Its ancestors and the national root come along.
    assert Region.objects.get(code="130000000000").name == "河北省"
    assert Region.objects.get(code=codes.ROOT_CODE).level == codes.COUNTRY
    assert Region.objects.get(code=CITY).parent_id == "130000000000"


def test_reimport_is_idempotent_and_prints_counts(db):
    total = Region.objects.count()
    out = io.StringIO()
    call_command("import_regions", "--prefix", "1307", stdout=out)
    lines = out.getvalue().splitlines()
    assert "新增 0 条，更新 0 条" in lines[0]
    assert {"地级: 1", "县级: 19", "乡级: 246", "村级: 4582"} <= set(lines)
    assert Region.objects.count() == total


def test_reimport_restores_a_renamed_village_and_re_adds_a_deleted_one(db):
    total = Region.objects.count()
    Region.objects.filter(code=VILLAGE).update(name="被改掉的名字")
    deleted = Region.objects.get(code=OTHER_VILLAGE_NO_USERS)
    deleted.delete()
    result = import_regions("1307")
    assert (result.added, result.updated) == (1, 1)
    assert result.counts == EXPECTED_1307
    assert Region.objects.get(code=VILLAGE).name == "南壕堑村村民委员会"
    restored = Region.objects.get(code=OTHER_VILLAGE_NO_USERS)
    assert (restored.name, restored.parent_id, restored.urban_rural) == (deleted.name, deleted.parent_id, "rural")
    assert Region.objects.count() == total


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("13a7", "区划前缀“13a7”格式错误"),
        ("130", "区划前缀“130”格式错误"),
        ("１３０７", "区划前缀“１３０７”格式错误"),
        ("99", "没有代码以“99”开头的区划"),
        ("1399", "没有代码以“1399”开头的区划"),  # well-formed, under a real province, but no such city
    ],
)
def test_bad_prefix_is_refused_and_nothing_written(db, prefix, message):
    total = Region.objects.count()
    with pytest.raises(DomainError, match=message):
        import_regions(prefix)
    assert Region.objects.count() == total


@pytest.mark.parametrize(("prefix", "message"), [("13a7", "格式错误"), ("99", "没有代码以“99”开头的区划")])
def test_import_command_reports_a_bad_prefix(db, prefix, message):
    total = Region.objects.count()
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("import_regions", "--prefix", prefix, stdout=out)
    assert out.getvalue() == ""
    assert Region.objects.count() == total


def test_dongguan_has_no_county_level(db):
    result = import_regions("4419")
    assert result.counts == {codes.CITY: 1, codes.TOWNSHIP: 36, codes.VILLAGE: 609}
    dongguan = Region.objects.get(code="441900000000")
    assert (dongguan.name, dongguan.level, dongguan.parent_id) == ("东莞市", codes.CITY, "440000000000")
    township = Region.objects.get(code="441900003000")
    assert (township.name, township.level, township.parent_id) == ("东城街道", codes.TOWNSHIP, dongguan.code)
    assert township.ancestors() == [Region.objects.get(code="440000000000"), dongguan]
    assert Region.objects.get(code="441900003001").parent_id == township.code
    assert not Region.objects.subtree(dongguan).filter(level=codes.COUNTY).exists()


def test_jinmen_is_a_county_without_townships(db):
    result = import_regions("350527")
    assert result.counts == {codes.COUNTY: 1}
    jinmen = Region.objects.get(code="350527000000")
    assert (jinmen.name, jinmen.level, jinmen.parent_id) == ("金门县", codes.COUNTY, "350500000000")
    assert Region.objects.get(code="350500000000").parent_id == "350000000000"
    assert not jinmen.children.exists()


# --- codes and tree queries ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (URBAN_VILLAGE, codes.URBAN),  # 教育街社区居民委员会
        ("130722100199", codes.URBAN),
        (VILLAGE, codes.RURAL),  # 南壕堑村村民委员会
        ("130722100399", codes.RURAL),
        ("130709200400", codes.UNDETERMINED),  # 东坪工矿区居委会
        ("130723500501", codes.UNDETERMINED),  # 康保牧场一分场生活区
        ("130723501598", codes.UNDETERMINED),  # 屯垦林场虚拟生活区
        (TOWNSHIP, codes.UNDETERMINED),  # not a village at all
    ],
)
def test_urban_rural_rule(code, expected):
    assert codes.urban_rural(code) == expected


def test_imported_villages_are_classified(db):
    villages = Region.objects.subtree(CITY).filter(level=codes.VILLAGE)
    assert Region.objects.get(code=URBAN_VILLAGE).urban_rural == Region.UrbanRural.URBAN
    assert Region.objects.get(code=VILLAGE).urban_rural == Region.UrbanRural.RURAL
    assert Region.objects.get(code="130709200400").urban_rural == Region.UrbanRural.UNDETERMINED
    for village in villages.only("code", "urban_rural").iterator():
        assert village.urban_rural == codes.urban_rural(village.code), village.code
    by_kind = {kind: villages.filter(urban_rural=kind).count() for kind in ("urban", "rural", "")}
    assert sum(by_kind.values()) == 4582
    assert by_kind["urban"] > 0 and by_kind["rural"] > by_kind["urban"] and by_kind[""] > 0
    assert not Region.objects.exclude(level=codes.VILLAGE).exclude(urban_rural="").exists()


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("13", "130000000000"), ("1307", CITY), ("130722", COUNTY), ("130722100", TOWNSHIP), (VILLAGE, VILLAGE)],
)
def test_canonical_codes(raw, canonical):
    assert codes.canonical(raw) == canonical


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1",
        "130",
        "13a7",
        "1307221",
        "1307221000001",
        "１３",  # full-width digits
        "٣١",  # Arabic-Indic digits
    ],
)
def test_malformed_codes(bad):
    with pytest.raises(DomainError, match="格式错误"):
        codes.canonical(bad)


def test_subtree_range_queries(db):
    county = Region.objects.get(code=COUNTY)
    assert county.subtree_range() == ("130722000000", "130722999999")
    assert Region.objects.get(code=TOWNSHIP).subtree_range() == ("130722100000", "130722100999")
    assert Region.objects.get(code=VILLAGE).subtree_range() == (VILLAGE, VILLAGE)

    subtree = Region.objects.subtree(county)
    direct = set(Region.objects.filter(parent=county).values_list("code", flat=True))
    grand = set(Region.objects.filter(parent__in=direct).values_list("code", flat=True))
    assert set(subtree.values_list("code", flat=True)) == {COUNTY} | direct | grand
    assert set(Region.objects.subtree(COUNTY, include_self=False).values_list("code", flat=True)) == direct | grand
    assert not subtree.filter(code__startswith="130702").exists()
    assert Region.objects.subtree(CITY).count() == sum(EXPECTED_1307.values())
    assert Region.objects.subtree(codes.ROOT_CODE).count() == Region.objects.count()

    assert county.contains(VILLAGE) and county.contains(TOWNSHIP) and county.contains(county)
    assert not county.contains(OTHER_COUNTY) and not county.contains("130702001001")
    assert not Region.objects.get(code=TOWNSHIP).contains(OTHER_TOWNSHIP)
    assert [a.code for a in Region.objects.get(code=VILLAGE).ancestors()] == [
        "130000000000",
        CITY,
        COUNTY,
        TOWNSHIP,
    ]
    assert Region.objects.get(code=VILLAGE).path_name() == "河北省张家口市张北县张北镇南壕堑村村民委员会"


# --- the tree page ---------------------------------------------------------------------------------------------------


def test_tree_requires_login(client):
    response = client.get(reverse("regions:tree"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_tree_defaults_to_the_users_region(client, make_user):
    client.force_login(make_user("county_approver"))
    response = client.get(reverse("regions:tree"))
    assert response.status_code == 200
    assert response.context["region"].code == COUNTY
    html = response.content.decode()
    # Breadcrumb: the nation, the province and the city.
    assert [a.code for a in response.context["ancestors"]] == ["130000000000", CITY]
    assert "河北省" in html and "张家口市" in html
    # Its townships, each with a lazy toggle for its villages.
    children = response.context["children"]
    assert len(children) == Region.objects.filter(parent_id=COUNTY).count()
    zhangbei = next(c for c in children if c.code == TOWNSHIP)
    assert zhangbei.n_children == Region.objects.filter(parent_id=TOWNSHIP).count()
    assert f'hx-get="{reverse("regions:children", args=[TOWNSHIP])}"' in html
    assert "张北镇" in html and "130722100" in html and "乡级" in html
    assert f"下辖 {zhangbei.n_children} 个" in html


def test_tree_can_be_rooted_anywhere(client, clerk_client):
    response = clerk_client.get(reverse("regions:node", args=["130702"]))
    assert response.status_code == 200
    assert response.context["region"].code == OTHER_COUNTY
    assert "本人所属区划" in response.content.decode()
    # The jump form's ?code= redirects to the node.
    response = clerk_client.get(reverse("regions:tree"), {"code": "1307"})
    assert response.status_code == 302 and response["Location"] == reverse("regions:node", args=["1307"])
    nation = clerk_client.get(reverse("regions:node", args=[codes.ROOT_CODE]))
    assert nation.status_code == 200
    assert "河北省" in nation.content.decode()


@pytest.mark.parametrize(("code", "message"), [("99", "区划代码“99”不存在"), ("13a7", "格式错误")])
def test_unknown_or_malformed_code_is_404(clerk_client, code, message):
    response = clerk_client.get(reverse("regions:node", args=[code]))
    assert response.status_code == 404
    assert message in response.content.decode()
    response = clerk_client.get(reverse("regions:children", args=[code]))
    assert response.status_code == 404
    assert message in response.content.decode()


def test_children_fragment_of_a_township(clerk_client):
    response = clerk_client.get(reverse("regions:children", args=[TOWNSHIP]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment, not a page
    assert "南壕堑村村民委员会" in html and VILLAGE in html and "村级" in html
    assert "农村" in html and "城镇" in html  # 南壕堑村 is rural, 教育街社区 urban
    assert "hx-get" not in html  # villages have no children to load
    codes_shown = [c.code for c in response.context["children"]]
    assert codes_shown == sorted(codes_shown)
    assert codes_shown == list(Region.objects.filter(parent_id=TOWNSHIP).values_list("code", flat=True))


def test_children_fragment_accepts_short_codes(clerk_client):
    response = clerk_client.get(reverse("regions:children", args=["1307"]))
    assert response.status_code == 200
    children = response.context["children"]
    assert len(children) == 19
    assert all(c.level == codes.COUNTY and c.n_children > 0 for c in children)
    assert 'hx-trigger="toggle once"' in response.content.decode()


def test_children_fragment_of_a_village_is_empty(clerk_client):
    response = clerk_client.get(reverse("regions:children", args=[VILLAGE]))
    assert response.status_code == 200
    assert "无下级区划" in response.content.decode()


def test_two_imports_in_one_transaction(db):
    """The staging table must not outlive one import (PostgreSQL kept it until commit)."""
    from django.db import transaction

    from minzheng.regions.importer import import_regions

    with transaction.atomic():
        first = import_regions("130722")
        second = import_regions("130722")
    assert first.counts == second.counts and second.added == 0

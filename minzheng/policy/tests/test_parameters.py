import datetime

import pytest

from minzheng.conftest import COUNTY, TOWNSHIP, VILLAGE
from minzheng.core.errors import DomainError
from minzheng.policy.catalogue import spec
from minzheng.policy.models import Parameter, ServiceItem
from minzheng.policy.parameters import group, resolve

D = datetime.date
CITY, PROVINCE = "130700000000", "130000000000"


def test_national_defaults_come_from_domain_settings_block(db):
    params = group("dibao", VILLAGE, D(2026, 11, 23))
    assert params["total_wd"].value == 30 and params["total_wd"].region_code == ""
    assert params["survey_start_wd"].value == 3 and params["notice_days"].value == 7
    assert params["confirm_level"].value == "county" and params["total_wd_delegated"].value == 20
    assert resolve("tekun.spot_check_min", VILLAGE, D(2026, 1, 1)).value == "0.30"
    assert params["total_wd"].parameter_id is None  # shipped default, no database row needed


def test_nearest_region_wins_and_dates_apply(db):
    Parameter.objects.create(key="dibao.total_wd", region_id=PROVINCE, effective_from=D(2024, 1, 1), value=25)
    Parameter.objects.create(key="dibao.total_wd", region_id=COUNTY, effective_from=D(2025, 6, 1), value=20)
    Parameter.objects.create(key="dibao.total_wd", region_id=CITY, effective_from=D(2026, 1, 1), value=22)
    assert resolve("dibao.total_wd", VILLAGE, D(2023, 12, 31)).value == 30  # national, before any override
    assert resolve("dibao.total_wd", VILLAGE, D(2025, 1, 1)).value == 25  # province
    assert resolve("dibao.total_wd", VILLAGE, D(2025, 6, 1)).value == 20  # county, nearest, from its date
    assert resolve("dibao.total_wd", VILLAGE, D(2026, 6, 1)).value == 20  # county still beats the newer city value
    other_county_village = "130702001025"
    assert resolve("dibao.total_wd", other_county_village, D(2026, 6, 1)).value == 22  # city
    record = resolve("dibao.total_wd", TOWNSHIP, D(2026, 6, 1)).as_record()
    assert record["region_code"] == COUNTY and record["effective_from"] == "2025-06-01"


def test_national_row_overrides_shipped_default(db):
    Parameter.objects.create(key="dibao.notice_days", region=None, effective_from=D(2026, 1, 1), value=5)
    assert resolve("dibao.notice_days", VILLAGE, D(2026, 2, 1)).value == 5
    assert resolve("dibao.notice_days", VILLAGE, D(2025, 2, 1)).value == 7


def test_unknown_parameter_is_a_chinese_error(db):
    with pytest.raises(DomainError) as err:
        resolve("dibao.nonsense", VILLAGE, D(2026, 1, 1))
    assert "未知的政策参数" in err.value.message


@pytest.mark.parametrize(
    ("key", "raw", "ok"),
    [
        ("dibao.total_wd", "45", 45),
        ("dibao.total_wd", "-1", None),
        ("dibao.total_wd", "三十", None),
        ("tekun.spot_check_min", "0.35", "0.35"),
        ("tekun.spot_check_min", "1.5", None),
        ("dibao.confirm_level", "township", "township"),
        ("dibao.confirm_level", "city", None),
        ("dibao.notice_in_total", "否", False),
    ],
)
def test_values_validated_against_the_catalogue(key, raw, ok):
    if ok is None:
        with pytest.raises(DomainError):
            spec(key).parse(raw)
    else:
        assert spec(key).parse(raw) == ok


def test_admin_refuses_editing_a_value_in_force(admin_client, db):
    row = Parameter.objects.create(key="dibao.total_wd", region_id=COUNTY, effective_from=D(2025, 1, 1), value=25)
    response = admin_client.post(
        f"/admin/policy/parameter/{row.pk}/change/",
        {"key": "dibao.total_wd", "region": COUNTY, "effective_from": "2025-01-01", "value": "20", "basis": ""},
    )
    assert "已生效的参数不能修改" in response.content.decode()
    row.refresh_from_db()
    assert row.value == 25


def test_admin_adds_a_future_value_with_validation(admin_client, db):
    data = {
        "key": "dibao.total_wd",
        "region": COUNTY,
        "effective_from": "2030-01-01",
        "value": "-3",
        "basis": "县政府文件",
    }
    assert "不能为负数" in admin_client.post("/admin/policy/parameter/add/", data).content.decode()
    admin_client.post("/admin/policy/parameter/add/", {**data, "value": "25"})
    assert Parameter.objects.get().value == 25


def test_catalogue_seeded(db):
    dibao = ServiceItem.objects.get(code="dibao")
    assert dibao.end_to_end and dibao.deciding_level == "county"
    shared = dibao.materials.filter(required=True).exclude(shared_from="")
    assert shared.filter(code="id_documents").exists()  # fetched from 公安, never demanded
    assert set(ServiceItem.objects.values_list("code", flat=True)) >= {
        "dibao",
        "tekun",
        "temp_emergency",
        "temp_expense",
        "dibao_edge",
        "rigid_expense",
        "disability_living",
        "disability_care",
        "orphan",
        "de_facto_child",
    }
    assert not ServiceItem.objects.get(code="de_facto_child").public_notice  # child privacy (DOMAIN.md §7)

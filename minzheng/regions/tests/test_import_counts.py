"""import_regions reports both the regions it holds and the rows shipped, so its figures agree with
regions/data/README.md (issue 15 §3: 2975/41351/620572 imported vs 2978/41352/620573 rows shipped)."""

import re
from importlib import resources
from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.regions import codes
from minzheng.regions.importer import ImportResult, ReadStats, read_rows


def _readme_counts() -> dict[int, int]:
    text = resources.files("minzheng.regions.data").joinpath("README.md").read_text()
    flat = re.sub(r"\s+", "", text)
    wanted = {
        codes.PROVINCE: r"([\d,]+)provinces",
        codes.CITY: r"([\d,]+)prefectures",
        codes.COUNTY: r"([\d,]+)counties",
        codes.TOWNSHIP: r"([\d,]+)townships",
        codes.VILLAGE: r"([\d,]+)villages",
    }
    return {level: int(re.search(pattern, flat).group(1).replace(",", "")) for level, pattern in wanted.items()}


def test_shipped_rows_per_level_are_the_readme_figures_and_five_are_merged():
    stats = ReadStats()
    rows = list(read_rows("", stats))
    assert stats.shipped == _readme_counts()
    assert {level: len(names) for level, names in stats.merged.items()} == {
        codes.COUNTY: 3,
        codes.TOWNSHIP: 1,
        codes.VILLAGE: 1,
    }
    assert sorted(stats.merged[codes.COUNTY]) == sorted(["东莞市", "中山市", "儋州市"])
    assert stats.merged[codes.TOWNSHIP] == ["金门县"] and stats.merged[codes.VILLAGE] == ["金门县"]
    imported = {}
    for _code, _name, level, _parent, _urban in rows:
        imported[level] = imported.get(level, 0) + 1
    assert (imported[codes.COUNTY], imported[codes.TOWNSHIP], imported[codes.VILLAGE]) == (2975, 41351, 620572)

    # What the command prints for the whole country: both figures on each line.
    result = ImportResult("", len(rows), 0, 0, 0.0, counts={k: v for k, v in imported.items() if k}, **vars(stats))
    lines = result.summary_lines()
    county = next(line for line in lines if line.startswith(codes.LEVEL_NAMES[codes.COUNTY]))
    assert "2975" in county and "数据文件 2978 行" in county and "东莞市" in county
    village = next(line for line in lines if line.startswith(codes.LEVEL_NAMES[codes.VILLAGE]))
    assert "620572" in village and "数据文件 620573 行" in village and "金门县" in village


@pytest.mark.django_db
def test_the_command_prints_the_merged_row_of_a_prefecture_without_counties():
    out = StringIO()
    call_command("import_regions", "--prefix", "4419", stdout=out)  # 东莞市: its county row repeats the city code
    county = next(line for line in out.getvalue().splitlines() if line.startswith(codes.LEVEL_NAMES[codes.COUNTY]))
    assert "数据文件 1 行" in county and "东莞市" in county


@pytest.mark.django_db
def test_picker_fragments_offer_a_choice_on_each_node(client, make_user):
    from django.urls import reverse

    from minzheng.regions.models import Region
    from minzheng.regions.picker import picked, relative_name

    client.force_login(make_user("county_approver"))
    html = client.get(reverse("regions:children", args=["130722000000"]), {"pick": "1"}).content.decode()
    assert 'data-pick-code="130722100" data-pick-name="张北镇"' in html
    assert "?pick=1" in html and "以此为根" not in html  # deeper levels keep picking
    plain = client.get(reverse("regions:children", args=["130722000000"])).content.decode()
    assert "data-pick-code" not in plain
    county = Region.objects.get(code="130722000000")
    village = picked("１３０７２２１００２０１", county)  # full-width digits, as an IME types them
    assert village is not None and relative_name(village, county) == "张北镇南壕堑村村民委员会"
    assert picked("130702", county) is None and picked("abc", county) is None and picked("", county) is None

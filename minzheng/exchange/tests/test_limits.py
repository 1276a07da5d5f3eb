"""Imports that cannot be weaponised (issue 18 §3): limits per delivery, refusals that land nothing and are audited,
the upload as a background job, masked rejects reports, and no temporary files left by a killed import."""

import csv
import datetime
import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.urls import reverse

from minzheng.accounts.services import issue_token
from minzheng.conftest import COUNTY, make_id_number
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_id_number
from minzheng.core.models import AuditEntry
from minzheng.exchange import files, importer, jobs, limits, rowstore, selectors, workspace
from minzheng.exchange.models import ImportRun, Snapshot

from .test_import import HEAD, PERIOD, SPOUSE, UNREGISTERED, call, snapshot_files, write_csv

D = datetime.date
WAGE = ["公民身份号码", "所属期", "工资薪金收入"]
MIB = 1024 * 1024


@pytest.fixture
def registered(clerk, household_data):
    from minzheng.conftest import VILLAGE
    from minzheng.registry import services

    services.create_household(clerk, household_data(VILLAGE, [("02", "张三", HEAD), ("12", "李四", SPOUSE)]))


@pytest.fixture
def approver(make_user):
    return make_user("county_approver")


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def wage_rows(n: int, *, month: str = "2026-05") -> list[list[str]]:
    """n valid, distinct wage rows (people need not be registered: unmatched rows are valid)."""
    return [[make_id_number(birth="19700101", seq=i), month, "1000"] for i in range(1, n + 1)]


def wage_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(WAGE)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def refusals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="snapshot", detail__has_key="refused").order_by("seq"))


def nothing_landed(checks_dir) -> bool:
    return Snapshot.objects.count() == 0 and snapshot_files(checks_dir) == []


def rewrite_zip(source: Path, target: Path, replace: dict[str, object], *, extra: dict[str, object] = ()) -> Path:
    """Copy an .xlsx, replacing members: bytes, or a (chunk, times) pair streamed in so the test never holds the
    inflated part in memory."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        members = [(i.filename, replace.get(i.filename)) for i in src.infolist()] + list(dict(extra).items())
        for name, content in members:
            if content is None:
                dst.writestr(name, src.read(name))
            elif isinstance(content, bytes):
                dst.writestr(name, content)
            else:
                head, chunk, times, tail = content
                with dst.open(name, "w", force_zip64=False) as out:
                    out.write(head)
                    for _ in range(times):
                        out.write(chunk)
                    out.write(tail)
    return target


SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def with_shared_strings(real: Path, target: Path, content, *, part: str = "xl/sharedStrings.xml") -> Path:
    """The workbook with a shared-strings part, declared as Excel declares it (openpyxl writes inline strings)."""
    with zipfile.ZipFile(real) as z:
        types = z.read("[Content_Types].xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    types = types.replace(
        b"</Types>", b'<Override PartName="/' + part.encode() + b'" ContentType="' + SST_TYPE + b'" /></Types>'
    )
    rels = rels.replace(
        b"</Relationships>",
        b'<Relationship Type="' + SST_REL + b'" Target="/' + part.encode() + b'" Id="rId99" /></Relationships>',
    )
    return rewrite_zip(
        real, target, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels}, extra={part: content}
    )


SST_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def shared_strings_bomb(megabytes: int) -> tuple:
    """A shared-strings part of `megabytes` MB of distinct-looking strings (openpyxl would hold every one)."""
    chunk = b"".join(b"<si><t>%08d-\xe5\xbc\xa0\xe5\x8c\x97\xe5\x8e\xbf</t></si>" % i for i in range(512))
    return SST_HEAD, chunk, megabytes * MIB // len(chunk) + 1, b"</sst>"


# --- xlsx members -------------------------------------------------------------------------------------------------


def test_a_shared_strings_bomb_is_refused_before_openpyxl_opens_it(registered, tmp_path, checks_dir, monkeypatch):
    real = wage_xlsx(tmp_path / "real.xlsx", [[HEAD, "2026-05", "1000"]])
    bomb = with_shared_strings(real, tmp_path / "工资.xlsx", shared_strings_bomb(80))
    declared = sum(i.file_size for i in zipfile.ZipFile(bomb).infolist())
    assert bomb.stat().st_size < 1 * MIB and declared > 80 * MIB  # a real zip bomb-ish workbook

    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not open a refused workbook")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(limits.DeliveryRefused) as caught:
        importer.import_file("wage", bomb, region_code="130722", period=PERIOD)
    assert caught.value.status == 413 and caught.value.code == "xlsx_too_large"
    message = caught.value.message
    assert message.startswith("Excel文件解压后过大：其中“xl/sharedStrings.xml”解压后80") and "最多64MB" in message
    assert nothing_landed(checks_dir) and not (checks_dir / "rejects").exists()
    (entry,) = refusals()
    assert entry.detail["refused"] == "xlsx_too_large" and entry.region_code == COUNTY
    assert entry.detail["original_name"] == "工资.xlsx" and "整批拒收" in entry.object_label


def test_xlsx_parts_are_judged_by_how_openpyxl_reads_them_not_by_their_names(db, tmp_path, settings):
    """A shared-strings part moved into xl/worksheets/ is still read whole: the part limit holds, not the sheet's."""
    settings.IMPORT_XLSX_MAX_PART_BYTES = 1 * MIB
    real = wage_xlsx(tmp_path / "real.xlsx", [[HEAD, "2026-05", "1000"]])
    moved = with_shared_strings(real, tmp_path / "moved.xlsx", shared_strings_bomb(2), part="xl/worksheets/sheet9.xml")
    with pytest.raises(limits.DeliveryRefused) as caught:
        limits.check_xlsx(moved)
    assert (
        "xl/worksheets/sheet9.xml" in caught.value.message and "共享字符串、样式等部件最多1MB" in caught.value.message
    )
    # The real worksheet of the same size passes the part limit: it is streamed.
    big_sheet = wage_xlsx(tmp_path / "big.xlsx", wage_rows(20_000))
    assert zipfile.ZipFile(big_sheet).getinfo("xl/worksheets/sheet1.xml").file_size > 1 * MIB
    limits.check_xlsx(big_sheet)


def test_xlsx_total_and_sheet_sizes_are_limited(db, tmp_path, settings):
    path = wage_xlsx(tmp_path / "w.xlsx", wage_rows(3_000))
    sheet = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    settings.IMPORT_XLSX_MAX_SHEET_BYTES = sheet - 1
    with pytest.raises(limits.DeliveryRefused, match="单个工作表最多"):
        limits.check_xlsx(path)
    settings.IMPORT_XLSX_MAX_SHEET_BYTES = sheet
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = sheet
    with pytest.raises(limits.DeliveryRefused, match="解压后共"):
        limits.check_xlsx(path)


def test_a_member_whose_declared_size_lies_is_never_inflated_past_it(registered, tmp_path, checks_dir):
    """Python's zipfile stops at the declared size and fails the CRC: checking declared sizes is checking reads."""
    real = wage_xlsx(tmp_path / "real.xlsx", [[HEAD, "2026-05", "1000"]])
    bomb = bytearray(with_shared_strings(real, tmp_path / "b.xlsx", shared_strings_bomb(8)).read_bytes())
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        info = z.getinfo("xl/sharedStrings.xml")
    # Patch the declared size of xl/sharedStrings.xml in the central directory to 1 KB.
    at = bomb.find(b"PK\x01\x02")
    while at >= 0:
        name_length = int.from_bytes(bomb[at + 28 : at + 30], "little")
        if bomb[at + 46 : at + 46 + name_length] == info.filename.encode():
            bomb[at + 24 : at + 28] = (1024).to_bytes(4, "little")
        at = bomb.find(b"PK\x01\x02", at + 4)
    lying = tmp_path / "lying.xlsx"
    lying.write_bytes(bytes(bomb))
    limits.check_xlsx(lying)  # the declared sizes are small
    with pytest.raises(DomainError, match="无法读取Excel文件"):
        importer.import_file("wage", lying, region_code="130722", period=PERIOD)
    assert nothing_landed(checks_dir)


def test_a_zip_with_a_huge_central_directory_is_refused_before_it_is_parsed(db, tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(limits.MAX_XLSX_MEMBERS + 1):
            z.writestr(f"x/{i}", b"")
    with pytest.raises(limits.DeliveryRefused, match="包含10001个部件"):
        limits.check_xlsx(path)


# --- rows ---------------------------------------------------------------------------------------------------------


def test_too_many_rows_are_refused_in_every_format(registered, tmp_path, checks_dir, settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = wage_rows(6)
    csv_path = write_csv(tmp_path / "w.csv", WAGE, rows)
    xlsx_path = wage_xlsx(tmp_path / "w.xlsx", rows)
    parquet_path = tmp_path / "w.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{parquet_path}' (FORMAT parquet)")
    for path in (csv_path, xlsx_path, parquet_path):
        with pytest.raises(limits.DeliveryRefused) as caught:
            importer.import_file("wage", path, region_code="130722", period=PERIOD)
        assert caught.value.code == "too_many_rows" and "超过每次报送5行的上限" in caught.value.message, path
    assert nothing_landed(checks_dir) and [e.detail["refused"] for e in refusals()] == ["too_many_rows"] * 3
    # Five rows pass.
    assert (
        importer.import_file(
            "wage", write_csv(tmp_path / "ok.csv", WAGE, rows[:5]), region_code="130722", period=PERIOD
        ).rows_valid
        == 5
    )


def test_an_xlsx_sheet_is_counted_as_it_streams_whatever_its_dimension_says(
    registered, tmp_path, settings, monkeypatch
):
    from openpyxl.worksheet._reader import WorkSheetParser

    def scan(*args):
        raise AssertionError("openpyxl's size scan parses a sheet without a dimension to its end: never used")

    monkeypatch.setattr(WorkSheetParser, "parse_dimensions", scan)
    settings.IMPORT_MAX_ROWS = 5
    real = wage_xlsx(tmp_path / "w.xlsx", wage_rows(6))
    with zipfile.ZipFile(real) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:C7" />' in sheet
    lying = rewrite_zip(real, tmp_path / "lying.xlsx", {"xl/worksheets/sheet1.xml": sheet.replace(b"A1:C7", b"A1:C2")})
    with pytest.raises(limits.DeliveryRefused, match="超过每次报送5行的上限"):
        importer.import_file("wage", lying, region_code="130722", period=PERIOD)
    # No dimension at all: the <row> elements are counted in the inflated XML before openpyxl parses one.
    undeclared = sheet.replace(b'<dimension ref="A1:C7" />', b"")
    bare = rewrite_zip(real, tmp_path / "bare.xlsx", {"xl/worksheets/sheet1.xml": undeclared})
    with pytest.raises(limits.DeliveryRefused, match="超过每次报送5行的上限"):
        importer.import_file("wage", bare, region_code="130722", period=PERIOD)
    # Four <row> elements, the last numbered far down the sheet: openpyxl fills the gap with empty rows, which are
    # counted as they stream.
    few = wage_xlsx(tmp_path / "few.xlsx", wage_rows(3))
    with zipfile.ZipFile(few) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    far = sheet.replace(b'<row r="4"', b'<row r="900000"').replace(b'r="A4"', b'r="A900000"')
    far = far.replace(b'r="B4"', b'r="B900000"').replace(b'r="C4"', b'r="C900000"')
    gap = rewrite_zip(few, tmp_path / "gap.xlsx", {"xl/worksheets/sheet1.xml": far.replace(b"A1:C4", b"A1")})
    with pytest.raises(limits.DeliveryRefused, match="超过每次报送5行的上限"):
        importer.import_file("wage", gap, region_code="130722", period=PERIOD)
    assert Snapshot.objects.count() == 0


def test_an_xlsx_declaring_more_rows_than_excel_holds_is_refused_at_once(db, tmp_path):
    real = wage_xlsx(tmp_path / "w.xlsx", wage_rows(1))
    with zipfile.ZipFile(real) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    claims = rewrite_zip(
        real, tmp_path / "c.xlsx", {"xl/worksheets/sheet1.xml": sheet.replace(b"A1:C2", b"A1:C2480001")}
    )
    with pytest.raises(limits.DeliveryRefused) as caught:
        importer.import_file("wage", claims, region_code="130722", period=PERIOD)
    assert "Excel一个工作表最多1,048,576行" in caught.value.message


def test_too_large_a_file_is_refused_unread(registered, tmp_path, checks_dir, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    path = write_csv(tmp_path / "w.csv", WAGE, wage_rows(40))
    with pytest.raises(limits.DeliveryRefused) as caught:
        importer.import_file("wage", path, region_code="130722", period=PERIOD)
    assert caught.value.status == 413 and "每次报送最多1000字节" in caught.value.message
    assert nothing_landed(checks_dir) and refusals()[0].detail["size"] == path.stat().st_size


# --- the share of rejected rows -----------------------------------------------------------------------------------


def test_a_mostly_rejected_delivery_is_refused_whole_and_the_one_in_force_stays(
    registered, tmp_path, checks_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        real = importer.import_file(
            "wage", write_csv(tmp_path / "real.csv", WAGE, [[HEAD, "2026-05", "3000"], [SPOUSE, "2026-05", "2000"]]),
            region_code="1307", period=PERIOD,
        )  # fmt: skip
    store = rowstore.store_path(files.data_dir())
    before = store.read_bytes()
    assert selectors.snapshots_in_force(COUNTY, PERIOD)["wage"] == real.snapshot
    # One valid row among many broken ones, for the county, newer than the city's delivery: it would outrank it.
    rows = [[HEAD, "2026-05", "1"]] + [[f"1{i:05d}", "2026-05", "1"] for i in range(99)]
    attack = write_csv(tmp_path / "attack.csv", WAGE, rows)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(limits.TooManyRejected) as caught:
        importer.import_file("wage", attack, region_code="130722", period=PERIOD + datetime.timedelta(days=1))
    refused = caught.value
    assert refused.status == 422 and refused.code == "too_many_rejected" and callbacks == []
    assert refused.message.startswith("拒收行占99%（100行中99行不合格），超过允许的20%：整批数据不予导入，现行数据不变")
    assert Snapshot.objects.get() == real.snapshot and len(snapshot_files(checks_dir)) == 1
    assert selectors.snapshots_in_force("130722100201", D(2026, 12, 1))["wage"] == real.snapshot
    assert store.read_bytes() == before, "the window's row store is untouched"
    (entry,) = refusals()
    assert entry.detail["refused"] == "too_many_rejected" and entry.detail["rows_rejected"] == 99
    # The department still gets its rejects report (masked), found by the refusal's audit entry, in scope.
    assert entry.detail["rejects_path"] == refused.rejects_path and refused.context["rejects_url"].endswith(".csv")
    path, region = selectors.rejects_readable(_user("county_approver"), refused.rejects_path)
    assert region == COUNTY and len(list(csv.reader(path.open(encoding="utf-8-sig")))) == 100


def _user(role):
    from minzheng.accounts.models import User

    return User.objects.create(username=f"{role}-x", role=role, region_id=COUNTY)


def test_the_share_is_a_setting_and_at_or_below_it_the_delivery_lands(registered, tmp_path, settings):
    rows = [[n, "2026-05", "1"] for n in (HEAD, SPOUSE, UNREGISTERED)] + wage_rows(1) + [["bad", "2026-05", "1"]]
    path = write_csv(tmp_path / "w.csv", WAGE, rows)  # 1 in 5 = 20 %
    assert importer.import_file("wage", path, region_code="130722", period=PERIOD).rows_valid == 4
    settings.IMPORT_MAX_REJECTED_SHARE = 0.1
    with pytest.raises(limits.TooManyRejected, match="超过允许的10%"):
        importer.import_file(
            "wage", write_csv(tmp_path / "v2.csv", WAGE, rows[1:]), region_code="130722", period=PERIOD
        )


def test_an_api_push_is_held_to_the_same_limits(client, registered, approver, settings):
    token = issue_token(approver, "推送")[1]
    url = "/api/v1/checks/sources/wage/rows"
    body = {
        "region": "130722",
        "period": "2026-05-01",
        "rows": [{"id_number": HEAD, "month": "2026-05", "gross_wage": "1"}],
    }
    body["rows"] += [{"id_number": "1", "month": "2026-05", "gross_wage": "1"}] * 3
    response = call(client, "post", url, body, token)
    assert response.status_code == 422, response.content
    data = response.json()
    assert data["code"] == "too_many_rejected" and data["rows_rejected"] == 3 and data["rejects_url"].endswith(".csv")
    assert "rejects_path" not in data and Snapshot.objects.count() == 0
    settings.IMPORT_MAX_PUSH_ROWS = 3
    response = call(client, "post", url, body, token)
    assert response.status_code == 413 and response.json()["code"] == "too_many_rows"
    settings.IMPORT_MAX_PUSH_BYTES = 100
    response = call(client, "post", url, body, token)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert [e.detail["refused"] for e in refusals()] == ["too_many_rejected", "too_many_rows", "payload_too_large"]
    assert all(e.user == approver for e in refusals())


# --- a delivery far smaller than the one in force -------------------------------------------------------------------


def test_a_tiny_delivery_does_not_displace_a_wider_one_unless_confirmed(
    registered, tmp_path, checks_dir, settings, django_capture_on_commit_callbacks
):
    """The browser pass: a valid 2-row wage file for 张北县, dated today, became the county's wage data in place of
    the city's delivery of 303,980 rows, and the batch re-check read it. It is refused now unless confirmed."""
    settings.IMPORT_MIN_REPLACED_SHARE = 0.9  # two registered people in the county: one row is half of them
    city_rows = [[HEAD, "2026-05", "3000"], [SPOUSE, "2026-05", "2000"]] + wage_rows(20)  # 20 people elsewhere
    with django_capture_on_commit_callbacks(execute=True):
        city = importer.import_file(
            "wage", write_csv(tmp_path / "city.csv", WAGE, city_rows), region_code="1307", period=PERIOD
        ).snapshot
    tiny = write_csv(tmp_path / "tiny.csv", WAGE, [[HEAD, "2026-05", "1"]])
    later = PERIOD + datetime.timedelta(days=1)
    with pytest.raises(limits.TooFewRows) as caught:
        importer.import_file("wage", tiny, region_code="130722", period=later)
    refused = caught.value
    assert refused.status == 422 and refused.code == "too_few_rows"
    # Compared with the rows of the city's delivery for the county's registered people (2), not all 22.
    assert refused.message.startswith(
        "本次有效数据1行，只有现行工资/纳税数据（张家口市，2026-05-01，第1版）在张北县的2行的50%"
    )
    assert "未予导入，现行数据不变" in refused.message and "确认数据完整，替换现行数据" in refused.message
    assert Snapshot.objects.get() == city and selectors.snapshots_in_force(COUNTY, later)["wage"] == city
    assert [e.detail["refused"] for e in refusals()] == ["too_few_rows"]
    # Confirmed complete: it lands and is in force.
    landed = importer.import_file("wage", tiny, region_code="130722", period=later, confirm_smaller=True).snapshot
    assert landed is not None and selectors.snapshots_in_force(COUNTY, later)["wage"] == landed
    # Against the county's own delivery now (1 row): a delivery as large passes without confirming.
    other = write_csv(tmp_path / "other.csv", WAGE, [[SPOUSE, "2026-05", "1"]])
    assert importer.import_file("wage", other, region_code="130722", period=later).snapshot.version == 2


def test_the_replacement_check_is_a_setting_and_holds_for_pushes_and_uploads(
    client, registered, approver, tmp_path, settings, sync_tasks
):
    rows = [[HEAD, "2026-05", "1"], [SPOUSE, "2026-05", "1"]] + wage_rows(8)
    importer.import_file("wage", write_csv(tmp_path / "ten.csv", WAGE, rows), region_code="130722", period=PERIOD)
    token = issue_token(approver, "推送")[1]
    body = {
        "region": "130722",
        "period": "2026-05-02",
        "rows": [{"id_number": HEAD, "month": "2026-05", "gross_wage": "1"}],
    }
    response = call(client, "post", "/api/v1/checks/sources/wage/rows", body, token)
    assert response.status_code == 422 and response.json()["code"] == "too_few_rows", response.content
    assert response.json()["rows_in_force"] == 10 and "本次有效数据1行" in response.json()["message"]
    response = call(client, "post", "/api/v1/checks/sources/wage/rows", body | {"confirm_smaller": True}, token)
    assert response.status_code == 201, response.content
    # Through the page: refused with its message on the run, then landed with the box ticked.
    client.force_login(approver)
    one = write_csv(tmp_path / "one.csv", WAGE, [[SPOUSE, "2026-05", "2"]])
    _upload(client, write_csv(tmp_path / "six.csv", WAGE, wage_rows(6)), period="2026-05-03")  # 6 against the push's 1
    _upload(client, one, period="2026-05-03")
    run = ImportRun.objects.order_by("-id").first()
    assert run.status == "failed" and "本次有效数据1行" in run.error and run.stats["refused"] == "too_few_rows"
    # The run's page says why, not 「可重新发起」: the same file would be refused again.
    page = client.get(reverse("exchange:import_run", args=[run.pk])).content.decode()
    assert "未导入" in page and "本次有效数据1行" in page and "可重新发起" not in page
    _upload(client, one, period="2026-05-03", confirm_smaller="on")
    run = ImportRun.objects.order_by("-id").first()
    assert run.status == "complete" and run.confirm_smaller and run.snapshot is not None
    settings.IMPORT_MIN_REPLACED_SHARE = 0  # off
    assert importer.import_file(
        "wage", write_csv(tmp_path / "z.csv", WAGE, [[HEAD, "2026-05", "9"]]), region_code="130722", period=PERIOD
    ).snapshot


# --- rejects report -------------------------------------------------------------------------------------------------


def test_the_rejects_report_masks_every_identity_number_and_is_not_cached(
    client, registered, approver, tmp_path, settings
):
    settings.IMPORT_MAX_REJECTED_SHARE = 1.0
    spouse_spaced = f"{SPOUSE[:6]} {SPOUSE[6:14]} {SPOUSE[14:]}"
    rows = [
        [HEAD, "2026-05", "1", SPOUSE],
        [UNREGISTERED, "2026-13", "1", spouse_spaced],  # an ID in another column, spaced: masked as well
        [HEAD[:-1] + "Y", "2026-05", "1", "备注"],
        ["12345", "2026-05", "1", "=HYPERLINK(1)"],
    ]
    path = write_csv(tmp_path / "w.csv", [*WAGE, "配偶身份号码"], rows)
    outcome = importer.import_file("wage", path, region_code="130722", period=PERIOD)
    text = files.rejects_file(outcome.rejects_path).read_text(encoding="utf-8-sig")
    for number in (HEAD, SPOUSE, UNREGISTERED, HEAD[:-1] + "Y"):
        assert number[4:14] not in text.replace(" ", "")
    report = {int(r[0]): r for r in list(csv.reader(io.StringIO(text)))[1:]}
    assert report[2][1:] == [mask_id_number(UNREGISTERED), "2026-13", "1", mask_id_number(spouse_spaced), report[2][5]]
    assert report[3][1] == mask_id_number(HEAD[:-1] + "Y") and report[4][1] == "*****"
    assert report[4][4] == "'=HYPERLINK(1)"  # still no formula
    client.force_login(approver)
    response = client.get(files.rejects_url(outcome.rejects_path))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert mask_id_number(UNREGISTERED).encode() in b"".join(response.streaming_content)


# --- a killed import leaves nothing behind --------------------------------------------------------------------------

KILLED_IMPORT = """
import os, signal, django
django.setup()
from minzheng.exchange.workspace import Workspace
ws = Workspace().__enter__()
temp = ws.temp_file(".parquet.tmp")
ws.con.execute(f"COPY (SELECT range AS x FROM range(100000)) TO '{temp}' (FORMAT parquet)")
print(temp, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or `kill -9` would, midway through writing the snapshot
"""


def test_a_killed_import_leaves_no_parquet_tmp_after_the_next_import_starts(registered, tmp_path, checks_dir):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "minzheng.settings", "CHECKS_DATA_DIR": str(checks_dir)}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[3]), env.get("PYTHONPATH", "")])
    killed = subprocess.run([sys.executable, "-c", KILLED_IMPORT], env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = Path(killed.stdout.strip())
    assert left.is_file() and left.name.endswith(".parquet.tmp") and left.is_relative_to(checks_dir / "tmp")
    legacy = checks_dir / "snapshots" / "wage" / ".7.0123abcd.parquet.tmp"  # where an earlier version wrote them
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"PAR1")
    with workspace.Workspace() as live:  # a concurrent import, alive: its files are not touched
        mine = live.temp_file(".parquet.tmp")
        mine.write_bytes(b"PAR1")
        outcome = importer.import_file(
            "wage", write_csv(tmp_path / "w.csv", WAGE, [[HEAD, "2026-05", "1"]]), region_code="130722", period=PERIOD
        )
        assert outcome.rows_valid == 1
        assert not left.exists() and not left.parent.exists() and not legacy.exists()
        assert mine.is_file()
    assert not mine.parent.exists()
    assert list((checks_dir / "tmp").rglob("*.parquet.tmp")) == [] and list(checks_dir.rglob("*.parquet.tmp")) == []
    assert sorted(p.name for p in (checks_dir / "tmp").iterdir()) == [workspace.SWEEP_LOCK]


# --- the upload: streamed to disk, imported by the worker -----------------------------------------------------------


def _upload(client, path, **fields):
    with path.open("rb") as handle:
        return client.post(
            reverse("exchange:snapshots"),
            {"source": "wage", "region": "130722", "period": "2026-05-01", "file": handle, **fields},
        )


def test_an_upload_returns_at_once_and_the_worker_imports_it(client, registered, approver, tmp_path, monkeypatch):
    def in_memory(*args, **kwargs):
        raise AssertionError("an upload is never held in memory")

    monkeypatch.setattr(MemoryFileUploadHandler, "new_file", in_memory)
    client.force_login(approver)
    small = wage_xlsx(tmp_path / "工资2026年5月.xlsx", [[HEAD, "2026-05", "3000"], [SPOUSE, "2026-05", "2000.5"]])
    assert small.stat().st_size < 2.5 * MIB  # Django would have kept it in memory, under a name with no extension
    response = _upload(client, small)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("exchange:import_run", args=[run.pk])
    # Queued, not run: nothing imported yet, the file waits in incoming/ under its extension; the task is queued.
    from django_q.models import OrmQ

    assert run.status == "queued" and Snapshot.objects.count() == 0 and OrmQ.objects.count() == 1
    assert run.upload == f"incoming/run-{run.pk}.xlsx" and (checks_dir_of() / run.upload).is_file()
    assert run.original_name == "工资2026年5月.xlsx" and run.file_size == small.stat().st_size
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="queued"' in page and "hx-get" in page and "工资2026年5月.xlsx" in page
    assert AuditEntry.objects.filter(object_type="import_run", object_id=str(run.pk)).exists()

    done = jobs.run_import(run.pk)
    assert done.status == "complete" and done.progress == 100 and done.upload == ""
    assert done.snapshot.file_format == "xlsx" and done.snapshot.rows_valid == 2
    assert done.stats["message"].startswith("已导入第1版") and not any(files.incoming_dir().iterdir())
    page = client.get(reverse("exchange:import_run", args=[run.pk])).content.decode()
    assert 'data-status="complete"' in page and "已导入第1版" in page and "hx-get" not in page
    progress = client.get(reverse("exchange:import_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def checks_dir_of() -> Path:
    return files.data_dir()


def test_an_upload_over_the_size_limit_is_cut_off_refused_and_audited(client, registered, approver, tmp_path, settings):
    settings.IMPORT_MAX_FILE_BYTES = 64 * 1024
    client.force_login(approver)
    path = write_csv(tmp_path / "big.csv", WAGE, wage_rows(3_000))
    assert path.stat().st_size > 64 * 1024
    response = _upload(client, path)
    text = response.content.decode()
    assert response.status_code == 200 and "文件过大：超过" in text and "每次报送最多64KB" in text
    assert ImportRun.objects.count() == 0 and not any(files.incoming_dir().iterdir())
    (entry,) = refusals()
    assert entry.user == approver and entry.detail["refused"] == "file_too_large" and entry.region_code == COUNTY


def test_a_killed_worker_leaves_its_upload_to_the_sweep(client, registered, approver, tmp_path):
    client.force_login(approver)
    _upload(client, write_csv(tmp_path / "w.csv", WAGE, [[HEAD, "2026-05", "1"]]))
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(status="failed")  # its worker died before its clean-up
    stray = files.incoming_dir() / "tmpabc.upload.csv"
    stray.write_bytes(b"x")
    os.utime(stray, (0, 0))  # a request that died long ago
    assert sorted(jobs.sweep_incoming()) == [f"run-{run.pk}.csv", "tmpabc.upload.csv"]


def test_an_upload_of_a_run_already_gone_fails_the_run_in_chinese(registered, approver, tmp_path):
    upload = type("Upload", (), {"name": "w.csv", "size": 10, "chunks": lambda self: [b"x" * 10]})()
    run = jobs.start_upload(approver, upload, source="wage", region_code="130722", period=PERIOD, enqueue=False)
    (files.data_dir() / run.upload).unlink()
    done = jobs.run_import(run.pk)
    assert done.status == "failed" and "上传的文件已不存在" in done.error and done.stats["refused"] == "file_missing"


def test_refusals_need_import_rights_and_scope(db, tmp_path, make_user):
    with pytest.raises(DomainError) as caught:
        jobs.start_upload(
            make_user("clerk"), type("U", (), {"name": "w.csv", "size": 1})(), source="wage", region_code="130722",
            period=PERIOD,
        )  # fmt: skip
    assert caught.value.status == 403 and ImportRun.objects.count() == 0
    assert json.dumps(limits.size_text(1536)) == '"1.5KB"'


def test_the_upload_still_checks_csrf(registered, approver, tmp_path):
    """The page sets its upload handlers before the CSRF check reads the body (so the outer view is exempt and the
    inner one protected): a post without the token is still refused."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(approver)
    response = _upload(client, write_csv(tmp_path / "w.csv", WAGE, [[HEAD, "2026-05", "1"]]))
    assert response.status_code == 403 and ImportRun.objects.count() == 0
    assert not files.incoming_dir().exists() or not any(files.incoming_dir().iterdir())
    page = client.get(reverse("exchange:snapshots"))
    token = page.cookies["csrftoken"].value
    path = write_csv(tmp_path / "w2.csv", WAGE, [[HEAD, "2026-05", "1"]])
    with path.open("rb") as handle:
        response = client.post(
            reverse("exchange:snapshots"),
            {
                "source": "wage",
                "region": "130722",
                "period": "2026-05-01",
                "file": handle,
                "csrfmiddlewaretoken": token,
            },
        )
    assert response.status_code == 302 and ImportRun.objects.count() == 1


def test_a_share_too_small_to_round_is_not_called_zero():
    with pytest.raises(limits.TooFewRows) as caught:
        limits.check_replacement(2, 24_359, limits.current(), what="工资/纳税数据")
    assert "24,359行的不到0.1%" in caught.value.message

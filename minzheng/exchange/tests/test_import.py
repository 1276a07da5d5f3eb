"""The departmental data importer: formats, row validation, snapshots, idempotence, API, command and pages."""

import csv
import datetime
import hashlib
import io
import json
import re
from decimal import Decimal

import duckdb
import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from minzheng.accounts.services import issue_token
from minzheng.conftest import COUNTY, OTHER_COUNTY, VILLAGE, make_id_number
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_id_number
from minzheng.core.models import AuditEntry
from minzheng.exchange import files, importer, validation
from minzheng.exchange.models import ImportRun, Snapshot
from minzheng.registry.identifiers import parse_identity_number

D = datetime.date
PERIOD = D(2026, 5, 1)
HEAD = make_id_number(seq=11)
SPOUSE = make_id_number(birth="19820202", seq=22)
UNREGISTERED = make_id_number(birth="19900303", seq=33)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.fixture(autouse=True)
def checks_dir(settings, tmp_path):
    settings.CHECKS_DATA_DIR = tmp_path / "checks"
    return settings.CHECKS_DATA_DIR


@pytest.fixture
def registered(clerk, household_data):
    """HEAD and SPOUSE registered (in that order, so HEAD has the smaller person key); UNREGISTERED is not."""
    from minzheng.registry import services
    from minzheng.registry.models import Person

    services.create_household(clerk, household_data(VILLAGE, [("02", "张三", HEAD), ("12", "李四", SPOUSE)]))
    return dict(Person.objects.values_list("id_number", "id"))


@pytest.fixture
def approver(make_user):
    return make_user("county_approver")


@pytest.fixture
def any_share_rejected(settings):
    """Tests of the row checks import files mostly wrong on purpose: no share of rejected rows refuses them here
    (test_limits.py tests that limit)."""
    settings.IMPORT_MAX_REJECTED_SHARE = 1.0


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    """django-q runs queued tasks inline, as with Q_SYNC=1 (the upload's import runs before the redirect)."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def write_csv(path, header, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_rejects(outcome) -> tuple[list[str], dict[int, dict]]:
    raw = files.rejects_file(outcome.rejects_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the report starts with a BOM so Excel reads it as UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert header[0] == "行号" and header[-1] == "拒收原因"
    return header, {int(r[0]): dict(zip(header, r, strict=True)) for r in rows[1:]}


def snapshot_rows(snapshot) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{files.snapshot_path(snapshot)}')").fetchall()


def snapshot_types(snapshot) -> dict[str, str]:
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{files.snapshot_path(snapshot)}')").fetchall()
    return {name: kind for name, kind, *_ in described}


def snapshot_files(checks_dir) -> list[str]:
    folder = checks_dir / "snapshots"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- formats and content ------------------------------------------------------------------------------------------


def test_csv_with_chinese_headers_lands_a_sorted_typed_snapshot(registered, tmp_path, checks_dir):
    path = write_csv(
        tmp_path / "工资.csv",
        ["公民身份号码", "所属期", "扣缴单位", "工资薪金收入", "已缴个人所得税"],
        [
            [UNREGISTERED, "2026-05", "甲公司", "3,000.00", "0"],
            [" " + SPOUSE[:6] + " " + SPOUSE[6:].translate(FULL_WIDTH), "202605", "乙公司", "２５００", ""],
            [HEAD, "2026-05-01", " 甲公司 ", "1800.5", "12.30"],
        ],
    )
    outcome = importer.import_file("wage", path, region_code="130722", period=PERIOD)
    assert (outcome.rows_total, outcome.rows_valid, outcome.rows_rejected, outcome.rows_unmatched) == (3, 3, 0, 1)
    assert not outcome.duplicate and outcome.rejects_path == ""
    snap = outcome.snapshot
    assert (snap.source, snap.region_id, snap.period, snap.version, snap.file_format) == (
        "wage",
        COUNTY,
        PERIOD,
        1,
        "csv",
    )
    assert snap.original_name == "工资.csv" and snap.path == f"snapshots/wage/{snap.pk}.parquet"
    assert snap.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert snap.content_sha256 == hashlib.sha256(files.snapshot_path(snap).read_bytes()).hexdigest()

    assert snapshot_types(snap) == {
        "snapshot_id": "BIGINT",
        "row_no": "INTEGER",
        "person_key": "BIGINT",
        "id_number": "VARCHAR",
        "month": "DATE",
        "employer": "VARCHAR",
        "gross_wage": "DECIMAL(18,2)",
        "tax_paid": "DECIMAL(18,2)",
        "social_contribution": "DECIMAL(18,2)",
    }
    rows = snapshot_rows(snap)
    # Sorted by person key (unregistered last); row_no is the data row in the delivered file.
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (3, registered[HEAD], HEAD),
        (2, registered[SPOUSE], SPOUSE),
        (1, None, UNREGISTERED),
    ]
    assert {r[0] for r in rows} == {snap.pk}
    assert rows[0][4:] == (PERIOD, "甲公司", Decimal("1800.50"), Decimal("12.30"), None)
    assert rows[1][4:] == (PERIOD, "乙公司", Decimal("2500.00"), None, None)
    assert rows[2][6] == Decimal("3000.00")
    entry = AuditEntry.objects.get(object_type="snapshot", object_id=str(snap.pk))
    assert entry.action == "create" and entry.region_code == COUNTY
    assert entry.detail["rows_unmatched"] == 1 and entry.detail["version"] == 1


@pytest.mark.usefixtures("any_share_rejected")
def test_every_malformed_row_is_rejected_with_a_chinese_reason(registered, tmp_path):
    wrong_check = HEAD[:-1] + ("0" if HEAD[-1] != "0" else "1")
    rows = [
        [HEAD, "城镇职工基本养老金", "1200.00", "2020-01"],  # 1 valid, code given by its label
        [SPOUSE.translate(FULL_WIDTH), "resident_basic", "150", ""],  # 2 valid: full-width digits folded
        [wrong_check, "employee_pension", "1", ""],  # 3
        [make_id_number(birth="20990101"), "employee_pension", "1", ""],  # 4 future birth date
        ["130722800101001", "employee_pension", "1", ""],  # 5 old 15-digit number
        [make_id_number(area="999999"), "employee_pension", "1", ""],  # 6 unknown area code
        [UNREGISTERED, "employee_pension", "-5", ""],  # 7 negative amount
        [UNREGISTERED, "survivor", "12.345", ""],  # 8 three decimals
        [UNREGISTERED, "work_injury", "10", "2026-13"],  # 9 impossible month
        [UNREGISTERED, "foo", "10", ""],  # 10 unknown code
        [HEAD, "EMPLOYEE_PENSION", "1,200", "202001"],  # 11 duplicate of row 1 once normalised
        [UNREGISTERED, "", "10", ""],  # 12 required value missing
        [UNREGISTERED, "unemployment", "=1+2", ""],  # 13 not a number (and a formula, neutralised in the report)
    ]
    path = write_csv(tmp_path / "pension.csv", ["id_number", "item", "monthly_amount", "start_month"], rows)
    outcome = importer.import_file("pension", path, region_code="1307", period=PERIOD)
    assert (outcome.rows_total, outcome.rows_valid, outcome.rows_rejected, outcome.rows_unmatched) == (13, 2, 11, 0)
    assert outcome.rejects_path.startswith("rejects/pension-")
    header, rejected = read_rejects(outcome)
    assert header == ["行号", "id_number", "item", "monthly_amount", "start_month", "拒收原因"]
    reasons = {n: r["拒收原因"] for n, r in rejected.items()}
    assert reasons == {
        3: "公民身份号码校验位不正确，请核对是否输错",
        4: "公民身份号码中的出生日期晚于今天",
        5: validation.MSG_OLD_ID,
        6: "公民身份号码的地址码“999999”不是有效的行政区划代码",
        7: "月领取金额：金额不能为负数，实为-5",
        8: "月领取金额：金额最多保留两位小数，实为“12.345”",
        9: "起领年月：“2026-13”年月格式不正确（应为YYYY-MM、YYYYMM或YYYY-MM-DD）",
        10: reasons[10],
        11: "与第1行重复",
        12: "待遇项目：必须填写",
        13: "月领取金额：“=1+2”不是有效的金额数字",
    }
    assert reasons[10].startswith("待遇项目：“foo”不在规定取值内（可填：城镇职工基本养老金、")
    # Identity numbers are masked in the report, whatever they hold (core.masking); the row number finds the line.
    assert rejected[7]["monthly_amount"] == "-5" and rejected[3]["id_number"] == mask_id_number(wrong_check)
    assert rejected[5]["id_number"] == "1307*******1001" and wrong_check[4:14] not in files.rejects_file(
        outcome.rejects_path
    ).read_text(encoding="utf-8-sig")
    assert rejected[13]["monthly_amount"] == "'=1+2"
    stored = snapshot_rows(outcome.snapshot)
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in stored] == [
        (1, HEAD, "employee_pension", Decimal("1200.00"), D(2020, 1, 1)),
        (2, SPOUSE, "resident_basic", Decimal("150.00"), None),
    ]


@pytest.mark.usefixtures("any_share_rejected")
def test_xlsx_first_sheet_with_dates_numbers_and_blank_rows(registered, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["公民身份号码", "结算日期", "医疗总费用", "医保基金支付", "个人自付", "备注"])
    sheet.append([HEAD, datetime.datetime(2026, 3, 5), 1000.5, 800, 200.5, "住院"])
    sheet.append([SPOUSE, "2026/03/06", "1,000", 0, 1000, None])
    sheet.append([None, None, None, None, None, None])
    sheet.append([HEAD, "2026-02-30", 1, 1, 0, None])
    sheet.append([float(UNREGISTERED[:-1] + "0"), "20260307", 1, 1, 0, "身份号码被存成了数字"])
    book.create_sheet("说明").append(["第二个工作表不读"])
    path = tmp_path / "medical.xlsx"
    book.save(path)
    outcome = importer.import_file("medical", path, region_code="1307", period=PERIOD)
    assert (outcome.rows_total, outcome.rows_valid, outcome.rows_rejected) == (4, 2, 2)
    assert outcome.snapshot.file_format == "xlsx"
    _, rejected = read_rejects(outcome)
    assert rejected[4]["拒收原因"].startswith("结算日期：“2026-02-30”日期格式不正确或日期不存在")
    assert rejected[5]["拒收原因"].startswith("公民身份号码")  # a number loses digits: never matched to someone
    rows = snapshot_rows(outcome.snapshot)
    assert [(r[1], r[3], r[4], r[5], r[6], r[7]) for r in rows] == [
        (1, HEAD, D(2026, 3, 5), Decimal("1000.50"), Decimal("800.00"), Decimal("200.50")),
        (2, SPOUSE, D(2026, 3, 6), Decimal("1000.00"), Decimal("0.00"), Decimal("1000.00")),
    ]


@pytest.mark.usefixtures("any_share_rejected")
def test_parquet_with_typed_columns(registered, tmp_path):
    path = tmp_path / "education.parquet"
    duckdb.sql(
        f"""COPY (SELECT * FROM (VALUES
              ('{HEAD}', '小学', DATE '2026-03-01', CAST(1200 AS DECIMAL(10, 2))),
              ('{SPOUSE}', 'junior', DATE '2026-03-02', CAST(800.5 AS DECIMAL(10, 2))),
              ('{UNREGISTERED}', '博士', DATE '2026-03-03', CAST(1 AS DECIMAL(10, 2)))
            ) t("公民身份号码", "学段", "缴费日期", "学杂费、住宿费等")) TO '{path}' (FORMAT parquet)"""
    )
    outcome = importer.import_file("education", path, region_code="1307", period=PERIOD)
    assert (outcome.rows_total, outcome.rows_valid, outcome.rows_rejected) == (3, 2, 1)
    assert outcome.snapshot.file_format == "parquet"
    rows = snapshot_rows(outcome.snapshot)
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
        (HEAD, "primary", D(2026, 3, 1), Decimal("1200.00")),
        (SPOUSE, "junior", D(2026, 3, 2), Decimal("800.50")),
    ]
    _, rejected = read_rejects(outcome)
    assert rejected[3]["拒收原因"].startswith("学段：“博士”不在规定取值内")


def test_gb18030_csv_is_read(registered, tmp_path):
    path = write_csv(
        tmp_path / "gbk.csv",
        ["公民身份号码", "所属期", "扣缴单位", "工资薪金收入"],
        [[HEAD, "2026年5月", "张北县供销合作社", "2000"]],
        encoding="gb18030",
    )
    outcome = importer.import_file("wage", path, region_code="1307", period=PERIOD)
    assert outcome.rows_valid == 1
    assert snapshot_rows(outcome.snapshot)[0][4:7] == (PERIOD, "张北县供销合作社", Decimal("2000.00"))


# --- refusals -----------------------------------------------------------------------------------------------------


def _broken_files(tmp_path):
    ok = [HEAD, "2026-05", "x", "1"]
    return {
        "missing_column": (
            write_csv(tmp_path / "a.csv", ["公民身份号码", "所属期"], [[HEAD, "2026-05"]]),
            "缺少必填列：工资薪金收入（gross_wage）",
        ),
        "empty": ((tmp_path / "empty.csv").open("w").close() or tmp_path / "empty.csv", "文件为空"),
        "header_only": (write_csv(tmp_path / "h.csv", ["id_number", "month", "gross_wage"], []), "没有数据行"),
        "broken_xlsx_zip": (_write(tmp_path / "b.xlsx", b"PK\x03\x04 not really a zip"), "无法读取Excel文件"),
        "broken_xlsx": (_write(tmp_path / "c.xlsx", b"these bytes are no spreadsheet"), "无法读取Excel文件"),
        "broken_parquet": (_write(tmp_path / "d.parquet", b"PAR1 truncated"), "无法读取Parquet文件"),
        "xls": (_write(tmp_path / "e.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "不支持旧版Excel"),
        "duplicate_column": (
            write_csv(tmp_path / "f.csv", ["id_number", "公民身份号码", "month", "gross_wage"], [[HEAD, *ok]]),
            "列出现了两次",
        ),
    }


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "case",
    [
        "missing_column",
        "empty",
        "header_only",
        "broken_xlsx_zip",
        "broken_xlsx",
        "broken_parquet",
        "xls",
        "duplicate_column",
    ],
)
def test_structurally_broken_files_are_refused_and_land_nothing(db, tmp_path, checks_dir, case):
    path, message = _broken_files(tmp_path)[case]
    with pytest.raises(DomainError) as caught:
        importer.import_file("wage", path, region_code="1307", period=PERIOD)
    assert message in caught.value.message
    assert Snapshot.objects.count() == 0 and snapshot_files(checks_dir) == []
    assert not (checks_dir / "rejects").exists()


@pytest.mark.parametrize(
    ("source", "region", "period", "message"),
    [
        ("salary", "1307", PERIOD, "未知的数据来源：salary"),
        ("wage", "999999", PERIOD, "区划代码“999999”不存在"),
        ("wage", "13x7", PERIOD, "区划代码“13x7”格式错误"),
        ("wage", "1307", D(2099, 1, 1), "晚于今天"),
    ],
)
def test_unknown_source_region_or_future_period_is_refused(db, tmp_path, checks_dir, source, region, period, message):
    path = write_csv(tmp_path / "w.csv", ["id_number", "month", "gross_wage"], [[HEAD, "2026-05", "1"]])
    with pytest.raises(DomainError) as caught:
        importer.import_file(source, path, region_code=region, period=period)
    assert message in caught.value.message
    assert Snapshot.objects.count() == 0 and snapshot_files(checks_dir) == []


@pytest.mark.usefixtures("any_share_rejected")
def test_a_file_with_no_valid_row_makes_no_snapshot_but_a_report(db, tmp_path, checks_dir):
    path = write_csv(tmp_path / "w.csv", ["id_number", "month", "gross_wage"], [["123", "2026-05", "1"]])
    outcome = importer.import_file("wage", path, region_code="1307", period=PERIOD)
    assert outcome.snapshot is None and not outcome.duplicate
    assert (outcome.rows_total, outcome.rows_valid, outcome.rows_rejected) == (1, 0, 1)
    assert read_rejects(outcome)[1][1]["拒收原因"] == "公民身份号码应为18位，您输入了3位"
    assert Snapshot.objects.count() == 0 and snapshot_files(checks_dir) == []


# --- versions and idempotence -------------------------------------------------------------------------------------


def test_same_file_twice_is_one_snapshot_and_a_changed_file_a_new_version(registered, tmp_path, checks_dir):
    header = ["id_number", "month", "gross_wage"]
    first = write_csv(tmp_path / "v1.csv", header, [[HEAD, "2026-05", "100"]])
    one = importer.import_file("wage", first, region_code="1307", period=PERIOD)
    again = importer.import_file("wage", first, region_code="1307", period=PERIOD, original_name="renamed.csv")
    assert again.duplicate and again.snapshot == one.snapshot and again.rows_valid == 1
    assert "未重复导入" in again.message
    assert Snapshot.objects.count() == 1 and len(snapshot_files(checks_dir)) == 1

    changed = write_csv(tmp_path / "v2.csv", header, [[HEAD, "2026-05", "120"]])
    two = importer.import_file("wage", changed, region_code="1307", period=PERIOD)
    assert not two.duplicate and two.snapshot.version == 2
    other_period = write_csv(tmp_path / "v3.csv", header, [[HEAD, "2026-06", "120"]])
    three = importer.import_file("wage", other_period, region_code="1307", period=D(2026, 6, 30))
    assert three.snapshot.version == 1
    # The same bytes for another region are that region's own delivery.
    elsewhere = importer.import_file("wage", first, region_code="130722", period=PERIOD)
    assert not elsewhere.duplicate and elsewhere.snapshot.region_id == COUNTY
    assert Snapshot.objects.count() == 4 and len(snapshot_files(checks_dir)) == 4
    assert [r[6] for r in snapshot_rows(two.snapshot)] == [Decimal("120.00")]


@pytest.mark.usefixtures("any_share_rejected")
def test_import_rows_validates_like_a_file_and_is_idempotent(registered):
    rows = [
        {"id_number": HEAD, "month": "2026-05", "gross_wage": 100, "employer": "甲"},
        {"公民身份号码": SPOUSE, "所属期": "2026-05", "工资薪金收入": 99.5},
        {"id_number": UNREGISTERED, "month": "2026-05", "gross_wage": "-1"},
    ]
    outcome = importer.import_rows("wage", rows, region_code="1307", period=PERIOD)
    assert (outcome.rows_total, outcome.rows_valid, outcome.rows_rejected) == (3, 2, 1)
    assert outcome.snapshot.file_format == "api"
    reordered = [dict(reversed(list(r.items()))) for r in rows]
    again = importer.import_rows("wage", reordered, region_code="1307", period=PERIOD)
    assert again.duplicate and again.snapshot == outcome.snapshot
    with pytest.raises(importer.PayloadTooLarge) as caught:
        importer.import_rows("wage", [{}] * 50_001, region_code="1307", period=PERIOD)
    assert caught.value.status == 413 and "最多50000行" in caught.value.message


def test_importer_checks_capability_and_scope(registered, tmp_path, make_user, approver):
    path = write_csv(tmp_path / "w.csv", ["id_number", "month", "gross_wage"], [[HEAD, "2026-05", "1"]])
    with pytest.raises(DomainError) as caught:
        importer.import_file("wage", path, region_code="130722", period=PERIOD, user=make_user("clerk"))
    assert caught.value.status == 403
    with pytest.raises(DomainError) as caught:
        importer.import_file("wage", path, region_code="1307", period=PERIOD, user=approver)
    assert caught.value.status == 403 and "本辖区" in caught.value.message
    outcome = importer.import_file("wage", path, region_code="130722", period=PERIOD, user=approver)
    assert outcome.snapshot.imported_by == approver


# --- identity numbers: the SQL agrees with parse_identity_number --------------------------------------------------


def test_sql_identity_validation_agrees_with_parse_identity_number():
    valid = make_id_number(seq=11)
    x_number = "11010519491231002X"
    values = [
        valid,
        x_number,
        x_number.lower(),  # lowercase x
        valid.translate(FULL_WIDTH),  # full-width digits
        f" {valid[:6]} {valid[6:14]}-{valid[14:]} ",  # spaces and dashes
        f"{valid[:6]}\u3000{valid[6:]}",  # ideographic space
        "①" + valid[1:],  # a compatibility digit NFKC folds (goes through Python's fold)
        valid[:6] + "·" + valid[6:],
        valid[:-1] + ("0" if valid[-1] != "0" else "1"),  # wrong checksum
        make_id_number(birth="20990101"),  # future birth date
        make_id_number(birth="19800230"),  # no such date
        make_id_number(birth="00000101"),  # year zero
        make_id_number(birth="18800101"),  # before 1890
        make_id_number(area="999999"),  # unknown area
        make_id_number(area="130725"),  # a real county code
        make_id_number(area="132521"),  # an abolished one (张北县 before 1993): still known
        "130722800101001",  # 15 digits
        "13072219800101001",  # 17
        "1307221980010100111",  # 19
        "13072219800101A011",
        "X30722198001010011",
        "",
        None,
        "   ",
        "１３０７２２",
    ]
    today = D(2026, 11, 23)
    expected = []
    for value in values:
        try:
            parse_identity_number(value, today=today)
        except DomainError as exc:
            expected.append(exc.message)
        else:
            expected.append(None)
    assert validation.identity_reasons(values, today=today) == expected
    assert expected[:8] == [None] * 8 and all(expected[8:14]) and expected[14:16] == [None, None]


def test_known_area_codes_match_the_registry_rule():
    from minzheng.registry.identifiers import _area_known

    known = set(validation.known_area_codes())
    assert "130722" in known and "132521" in known and "999999" not in known
    for code in ["110105", "130722", "130771", "132521", "999999", "110000", "460000", "500101", "659001"]:
        assert (code in known) == _area_known(code), code


# --- command ------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("any_share_rejected")
def test_command_imports_and_prints_a_chinese_summary(registered, tmp_path, approver):
    path = write_csv(
        tmp_path / "w.csv",
        ["id_number", "month", "gross_wage"],
        [[HEAD, "2026-05", "1"], [UNREGISTERED, "2026-05", "2"], ["bad", "2026-05", "3"]],
    )
    out = io.StringIO()
    call_command(
        "import_source", "wage", str(path), "--region", "130722", "--period", "2026-05-01", "--user", approver.username,
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "总行数：3" in text and "有效：2" in text and "拒收：1" in text and "未匹配：1" in text
    assert "第1版" in text and "拒收报告：" in text
    assert Snapshot.objects.get().imported_by == approver
    with pytest.raises(CommandError, match="未知的数据来源"):
        call_command("import_source", "salary", str(path), "--region", "1307", stdout=io.StringIO())
    with pytest.raises(CommandError, match="用户“nobody”不存在"):
        call_command("import_source", "wage", str(path), "--region", "1307", "--user", "nobody")
    with pytest.raises(CommandError, match="格式不正确"):
        call_command("import_source", "wage", str(path), "--region", "1307", "--period", "2026/05/01")


# --- API ----------------------------------------------------------------------------------------------------------


def call(client, method, url, body=None, token=None):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data, content_type="application/json", **extra)


@pytest.mark.usefixtures("any_share_rejected")
def test_api_push_lists_and_permissions(client, registered, approver, make_user):
    token = issue_token(approver, "税务局推送")[1]
    body = {
        "region": "130722",
        "period": "2026-05-01",
        "rows": [
            {"id_number": HEAD, "month": "2026-05", "gross_wage": "100.00"},
            {"id_number": HEAD[:-1] + "Y", "month": "2026-05", "gross_wage": "1"},
        ],
    }
    response = call(client, "post", "/api/v1/checks/sources/wage/rows", body, token)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["snapshot"]["version"] == 1 and data["snapshot"]["region_code"] == COUNTY
    assert (data["rows_valid"], data["rows_rejected"]) == (1, 1)
    assert data["rejects"] == [{"row_no": 2, "reason": "公民身份号码只能由数字和末位的X组成"}]
    assert data["rejects_url"].startswith("/checks/rejects/wage-")
    again = call(client, "post", "/api/v1/checks/sources/wage/rows", body, token)
    assert again.status_code == 200 and again.json()["duplicate"] is True

    listed = call(client, "get", "/api/v1/checks/snapshots?source=wage", token=token).json()
    assert [s["id"] for s in listed] == [data["snapshot"]["id"]]
    other_admin = issue_token(make_user("admin", region=OTHER_COUNTY), "x")[1]
    assert call(client, "get", "/api/v1/checks/snapshots", token=other_admin).json() == []

    clerk_token = issue_token(make_user("clerk"), "x")[1]
    denied = call(client, "post", "/api/v1/checks/sources/wage/rows", body, clerk_token)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert call(client, "get", "/api/v1/checks/snapshots", token=clerk_token).status_code == 403
    outside = call(client, "post", "/api/v1/checks/sources/wage/rows", {**body, "region": "130702"}, token)
    assert outside.status_code == 403 and "本辖区" in outside.json()["message"]
    unknown = call(client, "post", "/api/v1/checks/sources/salary/rows", body, token)
    assert unknown.status_code == 404 and "未知的数据来源" in unknown.json()["message"]
    malformed = call(client, "post", "/api/v1/checks/sources/wage/rows", {"region": "130722"}, token)
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid_request"
    assert call(client, "post", "/api/v1/checks/sources/wage/rows", body).status_code == 401


@pytest.mark.usefixtures("any_share_rejected")
def test_api_push_size_limits(client, registered, approver):
    token = issue_token(approver, "推送")[1]
    too_many = {"region": "130722", "period": "2026-05-01", "rows": [{"id_number": HEAD}] * 50_001}
    response = call(client, "post", "/api/v1/checks/sources/wage/rows", too_many, token)
    assert response.status_code == 413 and response.json()["code"] == "too_many_rows"
    assert "最多50000行" in response.json()["message"]
    # A push larger than Django's 2.5 MB form-data limit still goes through (the endpoint reads its own body).
    rows = [
        {
            "公民身份号码": HEAD,
            "所属期": f"{2000 + i // 12}-{i % 12 + 1:02d}",
            "工资薪金收入": "100.00",
            "扣缴单位": "某" * 60,
        }
        for i in range(300)
    ] * 60
    big = {"region": "130722", "period": "2026-05-01", "rows": rows}
    assert len(json.dumps(big)) > 2_621_440
    response = call(client, "post", "/api/v1/checks/sources/wage/rows", big, token)
    assert response.status_code == 201, response.content[:300]
    assert response.json()["rows_valid"] == 300 and response.json()["rows_rejected"] == 300 * 59


def test_api_sources_publish_the_contract(client, clerk):
    token = issue_token(clerk, "x")[1]
    data = call(client, "get", "/api/v1/checks/sources", token=token).json()
    # The 12 checking sources, the 4 monitoring-only signal feeds and the payment rolls' public-payroll delivery.
    assert len(data) == 17
    assert {s["code"] for s in data if s["category"] == "payment"} == {"public_payroll"}
    assert {s["code"] for s in data if s["category"] == "signal"} == {
        "employment",
        "student",
        "disaster",
        "anti_poverty",
    }
    pension = next(s for s in data if s["code"] == "pension")
    item = next(f for f in pension["fields"] if f["name"] == "item")
    assert item["label"] == "待遇项目" and item["kind"] == "code" and item["choices"]["survivor"] == "遗属待遇"
    assert pension["fields"][0] == {
        "name": "id_number",
        "label": "公民身份号码",
        "kind": "id_number",
        "type": "VARCHAR",
        "required": True,
        "choices": {},
    }
    assert call(client, "get", "/api/v1/checks/sources/salary", token=token).status_code == 404


# --- pages --------------------------------------------------------------------------------------------------------


def _upload(client, path, **fields):
    with path.open("rb") as handle:
        return client.post(
            reverse("exchange:snapshots"),
            {"source": "wage", "region": "130722", "period": "2026-05-01", "file": handle, **fields},
        )


def test_upload_page_imports_and_serves_the_rejects_report_in_scope(
    client, registered, approver, make_user, tmp_path, sync_tasks
):
    client.force_login(approver)
    page = client.get(reverse("exchange:snapshots")).content.decode()
    assert 'data-testid="import-form"' in page and 'value="130722"' in page and "部门数据" in page
    # The date picker reads ISO dates only (a localised 2026/12/07 left it blank, with a console warning).
    assert re.search(r'type="date" name="period" value="\d{4}-\d{2}-\d{2}"', page), page
    good = [[n, m, "1"] for n in (HEAD, SPOUSE, UNREGISTERED) for m in ("2026-04", "2026-05")]
    path = write_csv(tmp_path / "上传.csv", ["公民身份号码", "所属期", "工资薪金收入"], [*good, ["1", "2026-05", "1"]])
    response = _upload(client, path)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("exchange:import_run", args=[run.pk])
    text = client.get(response["Location"]).content.decode()
    assert "已导入第1版" in text and "有效6行，拒收1行" in text and 'data-testid="outcome-rejects-link"' in text
    snap = Snapshot.objects.get()
    assert snap.original_name == "上传.csv" and snap.imported_by == approver
    run.refresh_from_db()
    assert run.status == "complete" and run.snapshot == snap and run.upload == "" and run.started_by == approver
    url = reverse("exchange:rejects", args=[snap.rejects_path.removeprefix("rejects/")])
    assert url in text and url in client.get(reverse("exchange:snapshots")).content.decode()
    download = client.get(url)
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert download["Cache-Control"] == "private, no-store"
    body = b"".join(download.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and "公民身份号码应为18位".encode() in body
    assert AuditEntry.objects.filter(action="export", object_type="rejects_report").count() == 1

    client.force_login(make_user("admin", region=OTHER_COUNTY))
    assert client.get(url).status_code == 404
    assert client.get(reverse("exchange:import_run", args=[run.pk])).status_code == 404
    client.force_login(make_user("clerk"))
    assert client.get(url).status_code == 403
    assert client.get(reverse("exchange:snapshots")).status_code == 403
    assert client.get(reverse("exchange:import_run", args=[run.pk])).status_code == 403
    client.force_login(make_user("admin"))  # the city's administrator covers the county
    assert client.get(url).status_code == 200
    assert client.get(reverse("exchange:import_run", args=[run.pk])).status_code == 200


def test_upload_errors_show_on_the_form_or_the_run_and_refused_reports_stay_in_scope(
    client, registered, approver, make_user, tmp_path, sync_tasks
):
    client.force_login(approver)
    missing = write_csv(tmp_path / "m.csv", ["公民身份号码"], [[HEAD]])
    # What needs no reading is refused on the form, before anything is queued.
    text = _upload(client, missing, region="130702").content.decode()
    assert "本辖区" in text
    text = _upload(client, missing, period="2099-01-01").content.decode()
    assert "晚于今天" in text
    assert ImportRun.objects.count() == 0
    # What needs the file is refused by the worker, on the run's page.
    response = _upload(client, missing)
    text = client.get(response["Location"]).content.decode()
    assert "缺少必填列" in text and 'data-status="failed"' in text and Snapshot.objects.count() == 0

    bad = write_csv(tmp_path / "bad.csv", ["公民身份号码", "所属期", "工资薪金收入"], [["1", "2026-05", "1"]])
    text = client.get(_upload(client, bad)["Location"]).content.decode()
    assert "拒收行占100%" in text and "整批数据不予导入" in text and Snapshot.objects.count() == 0
    name = f"wage-{hashlib.sha256(bad.read_bytes()).hexdigest()[:12]}.csv"
    url = reverse("exchange:rejects", args=[name])
    assert url in text and client.get(url).status_code == 200
    assert not any(files.incoming_dir().iterdir()), "the uploads are removed once imported or refused"
    client.force_login(make_user("admin", region=OTHER_COUNTY))
    assert client.get(url).status_code == 404


def test_rejects_names_cannot_leave_the_folder(client, approver):
    client.force_login(approver)
    assert client.get("/checks/rejects/..%2F..%2Fsettings.py").status_code == 404
    assert client.get("/checks/rejects/wage-0123456789ab.csv").status_code == 404
    for name in ["../settings.py", "rejects/../../x.csv", "/etc/passwd", "rejects/wage-0123456789ab.csv/.."]:
        with pytest.raises(DomainError):
            files.rejects_file(name)


@pytest.mark.parametrize("index_lookup_up_to", [0, 20_000], ids=["registry-scan", "index-lookups"])
def test_person_keys_resolve_by_scan_and_by_lookup(registered, tmp_path, monkeypatch, index_lookup_up_to):
    monkeypatch.setattr(importer, "LOOKUP_BY_INDEX_ROWS", index_lookup_up_to)
    monkeypatch.setattr(importer, "PERSON_BATCH_ROWS", 1)  # several chunks even for a tiny registry
    monkeypatch.setattr(importer, "LOOKUP_BATCH", 1)
    path = write_csv(
        tmp_path / "w.csv",
        ["id_number", "month", "gross_wage"],
        [[SPOUSE, "2026-05", "1"], [UNREGISTERED, "2026-05", "1"], [HEAD, "2026-05", "1"]],
    )
    outcome = importer.import_file("wage", path, region_code="1307", period=PERIOD)
    assert outcome.rows_unmatched == 1
    keys = [(r[1], r[2]) for r in snapshot_rows(outcome.snapshot)]
    assert keys == [(3, registered[HEAD]), (1, registered[SPOUSE]), (2, None)]


@pytest.mark.parametrize(
    ("role", "page", "can_upload"),
    [
        ("clerk", 403, False),
        ("assistant", 403, False),
        ("township_reviewer", 200, False),
        ("county_approver", 200, True),
        ("leader", 200, False),
        ("admin", 200, True),
        ("auditor", 403, False),
    ],
)
def test_every_role_on_the_page_and_the_upload(client, make_user, tmp_path, role, page, can_upload, sync_tasks):
    user = make_user(role)
    client.force_login(user)
    response = client.get(reverse("exchange:snapshots"))
    assert response.status_code == page
    if page == 200:
        text = response.content.decode()
        assert ('data-testid="import-form"' in text) is can_upload
        assert (reverse("exchange:snapshots") in client.get("/").content.decode()) is can_upload  # the nav link
    path = write_csv(tmp_path / "w.csv", ["id_number", "month", "gross_wage"], [[HEAD, "2026-05", "1"]])
    with path.open("rb") as handle:
        region = user.region.official_code
        posted = client.post(
            reverse("exchange:snapshots"), {"source": "wage", "region": region, "period": "2026-05-01", "file": handle}
        )
    assert (posted.status_code == 302) is can_upload and (Snapshot.objects.count() == 1) is can_upload


def test_row_store_loads_checking_sources_only(registered, caplog, django_capture_on_commit_callbacks):
    """The window's row store holds the checking sources; a signal feed (read by the sweep from its Parquet file) is
    not loaded into it — loading one used to log a traceback for a table the store does not have."""
    from minzheng.exchange import rowstore

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        importer.import_rows(
            "employment",
            [{"id_number": HEAD, "status": "unemployed", "registered_on": "2026-04-02"}],
            region_code=COUNTY,
            period=PERIOD,
        )
    assert callbacks == [] and "快照行存储加载失败" not in caplog.text
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        importer.import_rows(
            "wage", [{"id_number": HEAD, "month": "2026-04", "gross_wage": "1200"}], region_code=COUNTY, period=PERIOD
        )
    assert len(callbacks) == 1 and "快照行存储加载失败" not in caplog.text
    assert rowstore.store_path(files.data_dir()).is_file()

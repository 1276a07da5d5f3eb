"""The column-wise return reader gives exactly what the line reader gives, and leaves every doubtful file to it."""

import dataclasses

import numpy as np
import pytest

from minzheng.benefits import bankfiles
from minzheng.core.errors import DomainError

ROWS = [
    {
        "seq": 101 + i,
        "name": name,
        "id_number": "130722198001010011",
        "account": f"62284800000000{i:05d}",
        "amount": fen,
        "benefit": "城乡低保",
        "month": "2027-01",
        "region": "130722100201",
    }
    for i, (name, fen) in enumerate([("张三", 30000), ("欧阳娜娜", 12345), ("李四", 5), ("王五", 100001)])
]


def _same(a: bankfiles.ReturnFile, b: bankfiles.ReturnFile) -> None:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.tolist() == y.tolist(), field.name
        else:
            assert x == y, field.name


@pytest.mark.parametrize("code", ["abc_fixed", "psbc_csv"])
def test_column_reader_agrees_with_line_reader(code):
    lay = bankfiles.layout(code)
    data = bankfiles.return_template(lay, ROWS, {102: "账户已冻结", 104: "户名不符"})
    fast = bankfiles._read_columns(lay, data)
    assert fast is not None
    _same(fast, bankfiles._read_lines(lay, data))
    assert fast.paid.tolist() == [True, False, True, False]
    assert fast.reason[1] == "账户已冻结"
    assert fast.amount_fen.tolist() == [30000, 12345, 5, 100001]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("成功", "未知", "无法识别"),
        ("300.00", "300.0x", "金额"),
        ("102", "1O2", "流水号"),
    ],
)
def test_doubtful_csv_goes_to_the_line_reader_and_names_the_line(old, new, message):
    lay = bankfiles.layout("psbc_csv")
    data = bankfiles.return_template(lay, ROWS, {102: "账户已冻结"}).decode("gbk").replace(old, new, 1).encode("gbk")
    assert bankfiles._read_columns(lay, data) is None
    with pytest.raises(DomainError, match=message) as err:
        bankfiles.read_return(lay, data)
    assert "行" in str(err.value)


def test_fixed_width_export_is_byte_exact():
    lay = bankfiles.layout("abc_fixed")
    data = bankfiles.write(lay, ROWS, len(ROWS), sum(r["amount"] for r in ROWS))
    width = sum(c.width for c in lay.columns) + 2
    lines = data.split(b"\r\n")[:-1]
    assert len(lines) == len(ROWS) + 1 and all(len(line) + 2 == width for line in lines)
    assert lines[1][42:82].decode("gbk").strip() == "欧阳娜娜"
    assert lines[-1].decode("gbk").startswith("合计")


@pytest.mark.parametrize("code", ["abc_fixed", "psbc_csv", "generic_xlsx"])
def test_bank_file_from_the_database_equals_the_file_from_the_rows(
    apply, approve_case, standards, bank, county_officers, code
):
    """The export formats cells in SQL; the same roll written from `export_rows` gives the same bytes."""
    from minzheng.benefits import rolls, settlement
    from minzheng.benefits.models import PaymentRoll

    approve_case(apply())
    maker, checker = county_officers
    run = rolls.start_preparation(maker, "130722", "2025-06", enqueue=False)
    rolls.prepare(run.pk)
    roll = rolls.approve(checker, PaymentRoll.objects.get(run=run).pk)
    lay = bankfiles.layout(code)
    rows = list(settlement.export_rows(roll, lay))
    assert [str(r["seq"]) for r in rows] == [v[lay.fields.index("seq")] for v in settlement.export_values(roll, lay)]
    if lay.format != "xlsx":  # xlsx files carry a timestamp
        _, data, _ = settlement.export(checker, roll.pk, code)
        assert data == bankfiles.write(lay, rows, roll.lines_count, roll.total_fen)

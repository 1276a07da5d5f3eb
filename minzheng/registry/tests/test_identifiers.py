import datetime

import pytest

from minzheng.conftest import make_id_number
from minzheng.core.errors import DomainError
from minzheng.registry.identifiers import (
    normalize_bank_account,
    normalize_phone,
    normalize_uscc,
    parse_identity_number,
)

VALID = "11010519491231002X"  # DOMAIN.md §9 worked example


def test_domain_example_is_valid_and_derives_sex_and_birth():
    info = parse_identity_number(VALID)
    assert info.number == VALID
    assert info.birth_date == datetime.date(1949, 12, 31)
    assert info.sex == "F"  # 17th digit 2 is even
    assert info.area_code == "110105"


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",  # lowercase x
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and letter
        "110105 19491231 002X",  # spaces
        "110105-19491231-002X",  # hyphens
        " 11010519491231002X\t",
    ],
)
def test_normalises_what_people_type(raw):
    assert parse_identity_number(raw).number == VALID


def test_male_from_odd_sequence():
    assert parse_identity_number(make_id_number("130722", "19800101", 11)).sex == "M"


def _with_valid_checksum(raw: str) -> str:
    from stdnum.cn import ric

    return raw[:17] + ric.calc_check_digit(raw[:17] + "0")


@pytest.mark.parametrize(
    ("raw", "code", "text"),
    [
        ("", "id_required", "请填写"),
        ("110105491231002", "id_old_format", "15位"),
        ("11010519491231002", "id_length", "18位"),
        ("110105194912310021", "id_checksum", "校验位"),
        ("1101051949123100AX", "id_format", "数字"),
        (_with_valid_checksum("11010519490230002"), "id_birth_date", "出生日期"),  # 30 February
        (_with_valid_checksum("99010519491231002"), "id_area_code", "地址码"),
    ],
)
def test_rejects_malformed_numbers_with_chinese_messages(raw, code, text):
    with pytest.raises(DomainError) as err:
        parse_identity_number(raw)
    assert err.value.code == code
    assert text in err.value.message
    assert err.value.field == "id_number"


def test_rejects_future_birth_date():
    number = make_id_number("130722", "20300101", 1)
    with pytest.raises(DomainError) as err:
        parse_identity_number(number, today=datetime.date(2026, 11, 23))
    assert err.value.code == "id_future_birth"


def test_accepts_county_created_after_birth_year():
    # 崇礼区 (130709) exists since 2016; people first registered later carry it whatever their birth year.
    assert parse_identity_number(make_id_number("130709", "19600101", 3)).area_code == "130709"


def test_accepts_abolished_county_code():
    # 崇礼县 (130733) was abolished in 2016; its numbers remain valid (DOMAIN.md §9).
    assert parse_identity_number(make_id_number("130733", "19700101", 5)).area_code == "130733"


def test_rejects_statistical_only_code():
    with pytest.raises(DomainError) as err:
        parse_identity_number(make_id_number("130771", "19700101", 5))
    assert err.value.code == "id_area_code"


@pytest.mark.parametrize("raw", [None, 12345, "１１０１０５１９４９１２３１００２", "X" * 18, "\u0000" * 18])
def test_odd_input_never_escapes_as_non_domain_error(raw):
    with pytest.raises(DomainError):
        parse_identity_number(raw if isinstance(raw, str | None) else str(raw))


class TestUscc:
    def test_domain_example(self):
        assert normalize_uscc("91110000600037341L") == "91110000600037341L"

    def test_lowercase_fullwidth_and_spaces(self):
        assert normalize_uscc("９１１１００００ 600037341l") == "91110000600037341L"

    def test_letter_registration_authority_allowed_by_gb32100(self):
        from stdnum.cn import uscc

        body = "Y1130722MA0000001"
        code = body + uscc.calc_check_digit(body)
        assert not uscc.is_valid(code)  # stdnum alone wrongly rejects it
        assert normalize_uscc(code) == code

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            ("91110000600037341X", "uscc_checksum"),
            ("9111000060003734", "uscc_length"),
            ("91110000600037341I", "uscc_format"),
            ("B1110000600037341L", "uscc_authority"),
            ("911A0000600037341L", "uscc_format"),
        ],
    )
    def test_rejections(self, raw, code):
        with pytest.raises(DomainError) as err:
            normalize_uscc(raw)
        assert err.value.code == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0313-1234567", "03131234567"),
        ("１３８１２３４５６７８", "13812345678"),
        ("", ""),
    ],
)
def test_phone_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "1381234567", "23812345678", "abc"])
def test_phone_rejected(raw):
    with pytest.raises(DomainError) as err:
        normalize_phone(raw)
    assert "电话号码" in err.value.message


def test_bank_account():
    assert normalize_bank_account("6228 4800 1234 5678 901") == "6228480012345678901"
    with pytest.raises(DomainError):
        normalize_bank_account("62-28-abc")

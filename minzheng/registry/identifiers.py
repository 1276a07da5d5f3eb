"""Validation of the identifiers people type at a window: identity numbers, credit codes, phones, bank accounts.

Each `normalize_*` returns the canonical form or raises DomainError with a Chinese message saying what is wrong.
Input is first folded with NFKC (full-width digits and letters become ASCII), then separators are removed.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from minzheng.core.errors import DomainError

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_.·]+")

# GB 11643-1999 (DOMAIN.md §9): check = (12 − Σ aᵢ·Wᵢ mod 11) mod 11, 10 → X; that is "10X98765432"[Σ aᵢ·Wᵢ mod 11].
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def id_check_char(body17: str) -> str:
    """The check character of an identity number's 17 leading digits."""
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def id_check_char_sql(expr: str) -> str:
    """The same check character as a SQL expression over a text of at least 17 digits (DuckDB, SQLite): one
    definition for the import's validation and the generators that make valid numbers."""
    total = " + ".join(f"CAST(substr({expr}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK_CHARS}', ({total}) % 11 + 1, 1)"


def fold_input(value: str | None) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "")).upper()


@dataclass(frozen=True)
class IdentityInfo:
    number: str
    birth_date: datetime.date
    sex: str  # "M" / "F"
    area_code: str


def _area_known(area: str) -> bool:
    """Whether stdnum's GB/T 2260 history knows the county code in any period.

    stdnum's own check also demands the county existed in the birth year, which rejects real numbers: people first
    registered after a county was created or renamed carry its code whatever their birth year (DOMAIN.md §9).
    """
    info = {k: v for _part, props in numdb.get("cn/loc").info(area) for k, v in props.items()}
    return "county" in info


def parse_identity_number(value: str | None, *, today: datetime.date | None = None) -> IdentityInfo:
    number = fold_input(value)
    if not number:
        raise DomainError("请填写公民身份号码", "id_required", field="id_number")
    if len(number) == 15 and number.isdigit():
        raise DomainError(
            "不支持15位旧版身份证号码，请使用18位公民身份号码（可在户籍地公安机关查询）",
            "id_old_format",
            field="id_number",
        )
    try:
        if len(number) != 18:
            raise InvalidLength()
        if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
            raise InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise InvalidChecksum()
        birth = ric.get_birth_date(number)
    except InvalidLength:
        raise DomainError(f"公民身份号码应为18位，您输入了{len(number)}位", "id_length", field="id_number") from None
    except InvalidFormat:
        raise DomainError("公民身份号码只能由数字和末位的X组成", "id_format", field="id_number") from None
    except InvalidChecksum:
        raise DomainError("公民身份号码校验位不正确，请核对是否输错", "id_checksum", field="id_number") from None
    except InvalidComponent:
        raise DomainError("公民身份号码中的出生日期不存在", "id_birth_date", field="id_number") from None
    except (ValidationError, ValueError, TypeError, KeyError, IndexError):
        # stdnum raises plain ValueError/TypeError/IndexError on some malformed input; never let them escape.
        raise DomainError("公民身份号码格式不正确", "id_format", field="id_number") from None
    today = today or datetime.date.today()
    if birth > today:
        raise DomainError("公民身份号码中的出生日期晚于今天", "id_future_birth", field="id_number")
    if birth.year < 1890:
        raise DomainError("公民身份号码中的出生日期不合理", "id_birth_date", field="id_number")
    try:
        area_ok = _area_known(number[:6])
    except Exception:
        area_ok = False
    if not area_ok:
        raise DomainError(
            f"公民身份号码的地址码“{number[:6]}”不是有效的行政区划代码", "id_area_code", field="id_number"
        )
    return IdentityInfo(number=number, birth_date=birth, sex="M" if int(number[16]) % 2 else "F", area_code=number[:6])


def normalize_identity_number(value: str | None) -> str:
    return parse_identity_number(value).number


# GB 32100-2015 登记管理部门码 (with later additions for 外交, 司法, 文化, 旅游, 宗教, 工会, 军队, 农业) and 机构类别码.
USCC_AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监管（工商）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
_USCC_ALPHABET = set("0123456789ABCDEFGHJKLMNPQRTUWXY")


def normalize_uscc(value: str | None) -> str:
    """统一社会信用代码. stdnum's check demands 8 leading digits, which wrongly rejects the letter registration
    authorities GB 32100 allows (A, N, Y), so the structure is checked here and only the checksum is stdnum's."""
    code = fold_input(value)
    if not code:
        raise DomainError("请填写统一社会信用代码", "uscc_required", field="uscc")
    if len(code) != 18:
        raise DomainError(f"统一社会信用代码应为18位，您输入了{len(code)}位", "uscc_length", field="uscc")
    if any(c not in _USCC_ALPHABET for c in code):
        raise DomainError("统一社会信用代码含有不允许的字符（不使用I、O、Z、S、V）", "uscc_format", field="uscc")
    if code[0] not in USCC_AUTHORITIES:
        raise DomainError(f"统一社会信用代码的登记管理部门码“{code[0]}”不存在", "uscc_authority", field="uscc")
    if not code[2:8].isdigit():
        raise DomainError("统一社会信用代码第3–8位应为行政区划代码", "uscc_format", field="uscc")
    try:
        if code[-1] != uscc.calc_check_digit(code):
            raise DomainError("统一社会信用代码校验位不正确，请核对是否输错", "uscc_checksum", field="uscc")
    except (ValueError, ValidationError, IndexError):
        raise DomainError("统一社会信用代码格式不正确", "uscc_format", field="uscc") from None
    return code


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def normalize_phone(value: str | None) -> str:
    """Mainland mobile (11 digits starting 13–19) or landline with area code; +86 prefix accepted. Empty stays empty."""
    phone = fold_input(value).replace("(", "").replace(")", "")
    if not phone:
        return ""
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    raise DomainError("电话号码格式不正确：手机号为11位，固定电话需带区号", "phone_format", field="phone")


def normalize_bank_account(value: str | None) -> str:
    account = fold_input(value)
    if not account:
        return ""
    if not account.isdigit() or not 8 <= len(account) <= 30:
        raise DomainError("银行账号应为8至30位数字", "bank_account_format", field="bank_account")
    return account

"""The pre-payment account check (`prepayment.bad_accounts`): 8–30 ASCII digits, and the Luhn digit where the bank's
card numbers of that length carry one (bank layouts: `"*"` = 16 and 19 digits). Worked examples, then the column-wise
check against the account-by-account rule on mixed rows."""

import random

from stdnum import luhn

from minzheng.benefits import bankfiles
from minzheng.benefits.prepayment import bad_accounts

CARD = "6217990000111122223"  # 19 digits
VALID = CARD[:-1] + luhn.calc_check_digit(CARD[:-1])
WRONG = VALID[:-1] + str((int(VALID[-1]) + 1) % 10)


def test_worked_examples():
    rows = [
        (1, "中国农业银行", VALID),  # card with a correct check digit
        (2, "中国农业银行", WRONG),  # the same card with the last digit changed: Luhn fails
        (3, "中国农业银行", "100000000000000001"),  # 18-digit passbook account: no Luhn for that length
        (4, "中国农业银行", "1234567"),  # 7 digits: too short
        (5, "中国农业银行", "1" * 31),  # 31 digits: too long
        (6, "中国农业银行", "6217-9900-0011"),  # not only digits
        (7, "中国农业银行", "６２１７９９００００１１"),  # full-width digits are not ASCII digits
        (8, "中国农业银行", ""),  # empty (the roll's own check holds it as no_account)
    ]
    assert sorted(bad_accounts(rows)) == [2, 4, 5, 6, 7, 8]
    assert bad_accounts([]) == []


def _one_by_one(rows):
    lengths = bankfiles.luhn_lengths()

    def bad(bank: str, account: str) -> bool:
        if not (account.isascii() and account.isdigit() and 8 <= len(account) <= 30):
            return True
        return len(account) in lengths.get(bank, lengths.get("*", ())) and not luhn.is_valid(account)

    return [pk for pk, bank, account in rows if bad(bank, account)]


def test_column_wise_check_agrees_with_the_account_by_account_rule():
    rng = random.Random(17)

    def account():
        k = rng.random()
        if k < 0.4:
            body = "".join(rng.choice("0123456789") for _ in range(rng.choice([15, 18])))
            return body + luhn.calc_check_digit(body)
        if k < 0.8:
            return "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 32)))
        return "".join(rng.choice("0123456789a-１ ") for _ in range(rng.randint(0, 20)))

    for ascii_only in (True, False):
        rows = [(i, rng.choice(["中国农业银行", "中国邮政储蓄银行"]), account()) for i in range(3000)]
        if ascii_only:
            rows = [r for r in rows if r[2].isascii()]
        assert sorted(bad_accounts(rows)) == sorted(_one_by_one(rows))


def test_empty_accounts_between_others_do_not_shift_the_rest():
    rows = [(1, "", ""), (2, "", "12345678"), (3, "", ""), (4, "", "1234567a"), (5, "", "")]
    assert sorted(bad_accounts(rows)) == [1, 3, 4, 5]

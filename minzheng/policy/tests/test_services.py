"""Writing dated parameters outside the admin (adopting a policy scenario): validated by the catalogue, never over a
value already set for that day, all or nothing, audited."""

import datetime

import pytest

from minzheng.core.errors import Conflict, DomainError
from minzheng.core.models import AuditEntry
from minzheng.policy import services
from minzheng.policy.models import Parameter

pytestmark = pytest.mark.django_db

DAY = datetime.date(2030, 1, 1)


def test_values_are_validated_written_and_audited(make_user):
    user = make_user("admin")
    rows = services.add_values(
        [services.NewValue("dibao.standard_rural", "130722000000", "713.00")],
        effective_from=DAY,
        basis="冀民〔2029〕1号",
        user=user,
    )
    assert [(p.key, p.region_id, p.value, p.created_by) for p in rows] == [
        ("dibao.standard_rural", "130722000000", "713.00", user)
    ]
    assert AuditEntry.objects.filter(action="create", object_type="parameter", region_code="130722000000").exists()
    with pytest.raises(Conflict, match="已有取值"):
        services.add_values(
            [services.NewValue("dibao.standard_rural", "130722000000", "720")], effective_from=DAY, basis="", user=user
        )


def test_a_bad_value_writes_nothing(make_user):
    user = make_user("admin")
    with pytest.raises(DomainError, match="应为数字"):
        services.add_values(
            [
                services.NewValue("dibao.standard_urban", "130722000000", "900"),
                services.NewValue("dibao.standard_rural", "130722000000", "abc"),
            ],
            effective_from=DAY,
            basis="",
            user=user,
        )
    with pytest.raises(DomainError, match="区划代码 999999000000 不存在"):
        services.add_values(
            [services.NewValue("dibao.standard_urban", "999999000000", "900")], effective_from=DAY, basis="", user=user
        )
    assert not Parameter.objects.filter(effective_from=DAY).exists()

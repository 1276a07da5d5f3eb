"""The hash-chained audit log: verification, tamper detection, the append-only guards, the auditor's view and the
sign-in audit."""

import datetime
import importlib
import io
import json
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from minzheng.conftest import CITY, COUNTY, OTHER_COUNTY, PASSWORD, TOWNSHIP
from minzheng.core import audit
from minzheng.core.audit import Action, verify_chain
from minzheng.core.models import AuditChainHead, AuditEntry
from minzheng.regions.codes import ROOT_CODE

TABLE = AuditEntry._meta.db_table
_guard = importlib.import_module("minzheng.core.migrations.0002_audit_append_only")


@contextmanager
def triggers_disabled():
    """Play an attacker with database access: switch off the append-only triggers, inside the test transaction
    (so everything, the triggers included, comes back on rollback)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The foreign-key checks of the rows just inserted are deferred to commit; ALTER TABLE refuses to run
            # while they are pending, so run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            try:
                yield cursor
            finally:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("DROP TRIGGER core_auditentry_no_update")
            cursor.execute("DROP TRIGGER core_auditentry_no_delete")
            try:
                yield cursor
            finally:
                for sql in _guard.SQLITE:
                    cursor.execute(sql)


def _records(n: int, **kwargs) -> list[AuditEntry]:
    return [
        audit.record(
            kwargs.get("action", Action.VIEW),
            object_type=kwargs.get("object_type", "person"),
            object_id=i + 1,
            label=f"测试对象{i + 1}",
            region_code=kwargs.get("region_code", TOWNSHIP),
            detail={"n": i + 1},
        )
        for i in range(n)
    ]


def _messages(problems) -> str:
    return "\n".join(p.message for p in problems)


def _verify_command() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def _command_fails() -> tuple[str, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", stdout=out)
    return out.getvalue(), str(excinfo.value)


# --- the chain ---------------------------------------------------------------------------------------------------


def test_chain_verifies_after_several_records(db):
    entries = _records(5)
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 5))
    assert entries[1].prev_hash == entries[0].hash
    checked, problems = verify_chain()
    assert problems == []
    assert checked >= 5
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash) == (entries[-1].seq, entries[-1].hash)
    output = _verify_command()
    assert f"共校验审计记录 {checked} 条" in output
    assert "校验通过" in output


def test_appended_hashes_are_the_ones_python_computes(db, make_user):
    """On PostgreSQL an entry is appended by one statement that hashes in the database: its hash must be the one
    verification recomputes, whatever the text (CJK, quotes, control characters, emoji) and with or without a user.
    From a chain with no head yet (the first entry creates it) and inside an outer transaction too."""
    assert not AuditChainHead.objects.exists()
    user = make_user("clerk")
    details = [{"k": '引号" 与 \\ 反斜杠', "n": 1.5, "none": None}, {"x": "\u0001\u2028😀", "list": [1, "二"]}, {}]
    entries = [audit.record(Action.VIEW, object_type="household", object_id=7, label="家庭 H1（户主 张*）")]
    for detail in details:
        entries.append(audit.record(Action.UPDATE, user=user, object_type="person", object_id="9", detail=detail))
    with transaction.atomic():
        entries.append(audit.record(Action.EXPORT, user=user, label="导出 <名单> & 附件", detail={"rows": 3}))
    stored = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5] == [e.seq for e in entries]
    assert [e.pk for e in stored] == [e.pk for e in entries]
    previous = audit.GENESIS
    for entry, returned in zip(stored, entries, strict=True):
        assert entry.prev_hash == previous == returned.prev_hash
        assert entry.hash == audit.entry_hash(previous, entry) == returned.hash
        previous = entry.hash
    head = AuditChainHead.objects.get()
    assert (head.last_seq, head.last_hash, head.prev_hash) == (5, stored[-1].hash, stored[-2].hash)
    assert verify_chain() == (5, [])


def test_small_batches_verify_the_same_chain(db):
    _records(7)
    assert verify_chain(batch=2) == verify_chain()
    call_command("verify_audit", "--batch", "3", stdout=io.StringIO())


def test_tampered_entry_is_detected(db):
    entries = _records(4)
    victim = entries[1]
    with triggers_disabled() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET object_label = %s, detail = %s WHERE seq = %s",
            ["篡改后的对象", json.dumps({"n": 999}), victim.seq],
        )
    assert AuditEntry.objects.get(seq=victim.seq).object_label == "篡改后的对象"
    _checked, problems = verify_chain()
    assert [p.seq for p in problems] == [victim.seq]
    assert "已被篡改" in problems[0].message
    output, error = _command_fails()
    assert f"第 {victim.seq} 条记录内容与哈希不符" in output
    assert "校验未通过" in error


def test_rehashed_entry_breaks_the_link_to_the_next(db):
    """An attacker who also recomputes the tampered entry's own hash is caught at the following entry."""
    entries = _records(3)
    victim = AuditEntry.objects.get(seq=entries[1].seq)
    victim.object_label = "篡改后的对象"
    new_hash = audit.entry_hash(victim.prev_hash, victim)
    with triggers_disabled() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET object_label = %s, hash = %s WHERE seq = %s",
            [victim.object_label, new_hash, victim.seq],
        )
    _checked, problems = verify_chain()
    assert any(p.seq == entries[2].seq and "前序哈希" in p.message for p in problems)
    _command_fails()


def test_deleting_an_entry_in_the_middle_is_detected(db):
    entries = _records(5)
    with triggers_disabled() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [entries[2].seq])
    _checked, problems = verify_chain()
    text = _messages(problems)
    assert f"第 {entries[2].seq}–{entries[2].seq} 条记录缺失" in text
    assert any(p.seq == entries[3].seq and "前序哈希" in p.message for p in problems)
    output, _error = _command_fails()
    assert "缺失" in output


def test_deleting_the_last_entry_is_detected(db):
    entries = _records(3)
    with triggers_disabled() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [entries[-1].seq])
    _checked, problems = verify_chain()
    assert len(problems) == 1
    assert "链尾不符" in problems[0].message
    output, _error = _command_fails()
    assert "链尾不符" in output


# --- the append-only guards ----------------------------------------------------------------------------------------


def test_orm_refuses_to_change_or_delete_an_entry(db):
    entry = _records(1)[0]
    stored = AuditEntry.objects.get(pk=entry.pk)
    stored.object_label = "改动"
    with pytest.raises(PermissionError, match="只能追加"):
        stored.save()
    with pytest.raises(PermissionError, match="只能追加"):
        stored.delete()
    # Bulk operations skip the model methods; the database triggers refuse them.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(object_label="改动")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).object_label == entry.object_label
    assert verify_chain()[1] == []


def test_database_refuses_raw_update_and_delete(db):
    entry = _records(1)[0]
    with pytest.raises(DatabaseError, match="审计日志只能追加"), transaction.atomic(), connection.cursor() as c:
        c.execute(f"UPDATE {TABLE} SET object_label = 'x' WHERE seq = %s", [entry.seq])
    with pytest.raises(DatabaseError, match="审计日志只能追加"), transaction.atomic(), connection.cursor() as c:
        c.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [entry.seq])
    assert AuditEntry.objects.filter(seq=entry.seq, object_label=entry.object_label).exists()


# --- the auditor's page --------------------------------------------------------------------------------------------


def _page(client, **params):
    response = client.get(reverse("web:audit"), params)
    assert response.status_code == 200
    return response


def _labels(response) -> set[str]:
    return {e.object_label for e in response.context["entries"]}


def test_auditor_sees_only_their_region(client, make_user):
    audit.record(Action.VIEW, object_type="person", label="本县记录", region_code=TOWNSHIP)
    audit.record(Action.VIEW, object_type="person", label="市本级记录", region_code=CITY)
    audit.record(Action.VIEW, object_type="person", label="外县记录", region_code="130702001001")
    audit.record(Action.VIEW, object_type="person", label="外省记录", region_code="110101001001")
    audit.record(Action.VIEW, object_type="system", label="无区划记录")

    # (force_login itself records a sign-in; look at the "view" entries only)
    client.force_login(make_user("auditor", region=COUNTY))
    response = _page(client, action="view")
    assert _labels(response) == {"本县记录"}
    assert "外县记录" not in response.content.decode()

    client.force_login(make_user("auditor", region=OTHER_COUNTY))
    assert _labels(_page(client, action="view")) == {"外县记录"}

    client.force_login(make_user("auditor", region=CITY))
    assert _labels(_page(client, action="view")) == {"本县记录", "市本级记录", "外县记录"}
    # Sign-ins carry the user's region: the city auditor sees the county auditors' sign-ins.
    assert len(_page(client, action="login").context["entries"]) == 3

    client.force_login(make_user("auditor", region=ROOT_CODE))
    assert _labels(_page(client, action="view")) == {"本县记录", "市本级记录", "外县记录", "外省记录", "无区划记录"}


def test_clerk_gets_403_and_anonymous_is_sent_to_login(client, make_user):
    response = client.get(reverse("web:audit"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    for role in ("clerk", "assistant", "county_approver", "leader", "admin"):
        client.force_login(make_user(role))
        assert client.get(reverse("web:audit")).status_code == 403, role


def test_filters(client, make_user):
    target = audit.record(Action.UPDATE, object_type="household", object_id=42, label="户甲", region_code=TOWNSHIP)
    audit.record(Action.VIEW, object_type="household", object_id=42, label="户甲", region_code=TOWNSHIP)
    audit.record(Action.UPDATE, object_type="person", object_id=7, label="人乙", region_code=TOWNSHIP)
    user = make_user("clerk", username="filter_clerk")
    by_user = audit.record(
        Action.VIEW, user=user, object_type="person", object_id=8, label="人丙", region_code=TOWNSHIP
    )
    client.force_login(make_user("auditor"))

    assert _labels(_page(client, action="update", object_type="household")) == {"户甲"}
    rows = _page(client, action="update", object_type="household", object_id="42").context["entries"]
    assert [e.seq for e in rows] == [target.seq]
    assert [e.seq for e in _page(client, username="filter_clerk").context["entries"]] == [by_user.seq]
    assert _page(client, object_id="7").context["entries"][0].object_label == "人乙"

    today = timezone.localdate()
    assert len(_page(client, date_from=today.isoformat(), date_to=today.isoformat()).context["entries"]) >= 4
    yesterday = today - datetime.timedelta(days=1)
    assert _page(client, date_to=yesterday.isoformat()).context["entries"] == []
    assert _page(client, date_from=(today + datetime.timedelta(days=1)).isoformat()).context["entries"] == []

    response = _page(client, date_from=today.isoformat(), date_to=yesterday.isoformat())
    assert response.context["entries"] == []
    assert "起始日期不能晚于截止日期" in response.content.decode()
    assert "有效的日期" in _page(client, date_from="2025-13-45").content.decode()


def test_table_shows_shanghai_time_labels_and_compact_detail(client, make_user):
    entry = audit.record(
        Action.EXPORT, object_type="household", object_id=5, label="户丁", region_code=TOWNSHIP, detail={"rows": 3}
    )
    client.force_login(make_user("auditor"))
    html = _page(client, object_type="household", object_id="5").content.decode()
    shanghai = entry.at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert shanghai.strftime("%Y-%m-%d %H:%M:%S") in html
    assert "导出" in html and "户丁" in html and TOWNSHIP in html
    assert "行数：3" in html and "{&quot;rows&quot;" not in html


def test_keyset_pagination_by_seq(client, make_user):
    entries = _records(120, object_type="pagetest")
    client.force_login(make_user("auditor"))
    with CaptureQueriesContext(connection) as queries:
        first = _page(client, object_type="pagetest")
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
    rows = first.context["entries"]
    assert len(rows) == 50
    assert rows[0].seq == entries[-1].seq
    assert first.context["next_url"] == f"?object_type=pagetest&before={rows[-1].seq}"
    assert "下一页" in first.content.decode()

    second = client.get(reverse("web:audit") + first.context["next_url"])
    rows2 = second.context["entries"]
    assert len(rows2) == 50
    assert rows2[0].seq == rows[-1].seq - 1
    third = client.get(reverse("web:audit") + second.context["next_url"])
    rows3 = third.context["entries"]
    assert len(rows3) == 20
    assert rows3[-1].seq == entries[0].seq
    assert third.context["next_url"] == ""
    assert "下一页" not in third.content.decode()
    assert "最新记录" in third.content.decode()


# --- sign-in audit -------------------------------------------------------------------------------------------------


def _latest(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).order_by("-seq").first()


def test_login_and_logout_are_recorded(client, make_user):
    user = make_user("clerk", username="login_clerk")
    # An explicit `next`, so the test does not depend on where LOGIN_REDIRECT_URL points.
    response = client.post(reverse("login"), {"username": "login_clerk", "password": PASSWORD, "next": "/regions/"})
    assert response.status_code == 302
    entry = _latest(Action.LOGIN)
    assert entry.user_id == user.pk and entry.username == "login_clerk"
    assert entry.region_code == TOWNSHIP
    assert entry.ip == "127.0.0.1"

    response = client.post(reverse("logout"))
    assert response.status_code in (200, 302)
    entry = _latest(Action.LOGOUT)
    assert entry.user_id == user.pk and entry.username == "login_clerk"
    assert verify_chain()[1] == []


def test_failed_login_is_recorded_without_the_password(client, make_user):
    make_user("clerk", username="fail_clerk")
    wrong = "Wrong#Password2026"
    response = client.post(reverse("login"), {"username": "fail_clerk", "password": wrong})
    assert response.status_code == 200  # the form again, with its error
    entry = _latest(Action.LOGIN_FAILED)
    assert entry.user_id is None
    assert entry.username == "fail_clerk"
    assert entry.detail == {"username": "fail_clerk"}
    assert entry.region_code == TOWNSHIP  # the account's region, so its auditors see the attempt
    assert entry.ip == "127.0.0.1"
    stored = json.dumps([getattr(entry, f.attname) for f in AuditEntry._meta.fields], default=str)
    assert wrong not in stored

    client.post(reverse("login"), {"username": "nobody_here", "password": wrong})
    entry = _latest(Action.LOGIN_FAILED)
    assert entry.detail == {"username": "nobody_here"}
    assert entry.region_code == ""


def test_failed_login_through_authenticate_is_recorded(db):
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    assert authenticate(request=RequestFactory().post("/"), username="ghost", password="x") is None
    assert _latest(Action.LOGIN_FAILED).detail == {"username": "ghost"}


def test_failed_logins_are_recorded_through_an_axes_lockout(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("clerk", username="locked_clerk")
    before = AuditEntry.objects.filter(action=Action.LOGIN_FAILED).count()
    statuses = [
        client.post(reverse("login"), {"username": "locked_clerk", "password": "Wrong#Password2026"}).status_code
        for _ in range(4)
    ]
    assert statuses[-1] == 429  # django-axes answers the locked-out attempt
    failures = list(AuditEntry.objects.filter(action=Action.LOGIN_FAILED).order_by("seq"))[before:]
    assert len(failures) == 4
    assert all(e.username == "locked_clerk" for e in failures)
    assert [e.detail.get("locked_out", False) for e in failures] == [False, False, True, True]
    # Even the right password is refused (and recorded) while locked out.
    response = client.post(reverse("login"), {"username": "locked_clerk", "password": PASSWORD})
    assert response.status_code == 429
    assert _latest(Action.LOGIN_FAILED).detail == {"username": "locked_clerk", "locked_out": True}
    assert not AuditEntry.objects.filter(action=Action.LOGIN, username="locked_clerk").exists()


def test_reading_the_audit_log_is_itself_audited(client, make_user):
    from minzheng.core.models import AuditEntry

    auditor = make_user("auditor")
    client.force_login(auditor)
    client.get("/audit/", {"action": "view"})
    entry = AuditEntry.objects.filter(object_type="audit_log").get()
    assert entry.username == auditor.username and entry.detail["filters"] == {"action": "view"}

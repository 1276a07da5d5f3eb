import datetime

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from minzheng.accounts.models import User
from minzheng.conftest import COUNTY, PASSWORD, TOWNSHIP, VILLAGE


@pytest.mark.parametrize(
    ("role", "region", "ok"),
    [
        ("clerk", TOWNSHIP, True),
        ("clerk", COUNTY, False),
        ("assistant", VILLAGE, True),
        ("assistant", TOWNSHIP, False),
        ("county_approver", COUNTY, True),
        ("county_approver", TOWNSHIP, False),
        ("leader", "130700000000", True),
        ("auditor", VILLAGE, False),
    ],
)
def test_role_bound_to_the_right_level(db, role, region, ok):
    user = User(username=f"u_{role}", role=role, region_id=region)
    if ok:
        user.full_clean(exclude=["password"])
    else:
        with pytest.raises(ValidationError) as err:
            user.full_clean(exclude=["password"])
        assert "只能绑定到" in str(err.value)


@pytest.mark.parametrize("password", ["short1A!", "alllowercaseletters", "Abcdefghijkl", "123456789012"])
def test_weak_passwords_refused(db, password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_strong_password_accepted(db):
    validate_password("Minzheng#Strong2026")


def test_login_is_throttled(client, make_user, settings):
    user = make_user("clerk")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.username, "password": "wrong-Password1"})
    locked = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_works_and_session_is_short(client, make_user, settings):
    user = make_user("clerk")
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.get_expiry_age() <= settings.SESSION_COOKIE_AGE <= 3600
    assert response.cookies["sessionid"]["httponly"]


def test_token_page_issues_once_and_revokes(client, make_user):
    user = make_user("clerk")
    client.force_login(user)
    page = client.post(reverse("accounts:tokens"), {"name": "对接系统", "days": 30}).content.decode()
    token = user.api_tokens.get()
    assert 'data-testid="new-token"' in page and token.hint in page
    assert client.get(reverse("accounts:tokens")).content.decode().count(token.hint) == 1  # never shown in full again
    client.post(reverse("accounts:revoke_token", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_demo_users_command(db):
    from django.core.management import call_command

    call_command("create_demo_users", "--prefix", "1307")
    clerk = User.objects.get(username="clerk")
    assert clerk.region_id == TOWNSHIP and clerk.get_role_display() == "窗口受理员"
    assert User.objects.get(username="clerk2").region.parent_id == COUNTY
    assert User.objects.filter(username="admin", is_superuser=True).exists()


def test_admin_pages_open_for_system_admin(client, db):
    from django.core.management import call_command

    call_command("create_demo_users", "--prefix", "1307")
    client.force_login(User.objects.get(username="admin"))
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/regions/region/?q=张北").status_code == 200
    assert client.get("/admin/registry/person/").status_code == 404  # personal data only through scoped pages


def test_session_renewed_at_most_once_a_minute(client, make_user, settings):
    """The idle timeout is renewed by activity, but a request within SESSION_RENEW_SECONDS of the last renewal writes
    nothing (accounts.sessions); past it, the next request pushes the expiry out again."""
    from django.contrib.sessions.models import Session

    from minzheng.accounts.sessions import TOUCHED

    user = make_user("clerk")
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    key = client.cookies["sessionid"].value
    client.get(reverse("web:home"))
    first = Session.objects.get(session_key=key).expire_date
    client.get(reverse("web:home"))
    assert Session.objects.get(session_key=key).expire_date == first  # within the minute: no write
    # A renewal older than the margin: the next request saves the session with a later expiry.
    session = client.session
    session[TOUCHED] -= settings.SESSION_RENEW_SECONDS
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=first - datetime.timedelta(minutes=10))
    client.get(reverse("web:home"))
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > first - datetime.timedelta(minutes=10)
    assert renewed <= timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    # An expired session is not renewed: it signs the user out.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(reverse("web:home")).status_code == 302


def test_anonymous_requests_create_no_session(client, db):
    from django.contrib.sessions.models import Session

    client.get(reverse("login"))
    client.get("/healthz")
    assert Session.objects.count() == 0

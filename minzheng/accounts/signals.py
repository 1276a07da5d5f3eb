"""Sign-in, sign-out and failed sign-in attempts go to the audit log.

Failed attempts reach `user_login_failed` whether the password was wrong or django-axes refused the attempt because
the username/address is locked out (its backend raises PermissionDenied, which `authenticate` turns into the same
signal); the lockout is noted in the detail. The password is never recorded: only the attempted username.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from minzheng.core import audit

USERNAME_LIMIT = 150


def _user_kwargs(user) -> dict:
    return {
        "user": user,
        "object_type": "user",
        "object_id": user.pk,
        "label": getattr(user, "display_name", "") or user.get_username(),
        "region_code": getattr(user, "region_id", None) or "",
    }


@receiver(user_logged_in, dispatch_uid="minzheng.audit.login")
def audit_login(sender, request, user, **kwargs) -> None:
    audit.record(audit.Action.LOGIN, **_user_kwargs(user))


@receiver(user_logged_out, dispatch_uid="minzheng.audit.logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return  # logging out without a session: nothing to record
    audit.record(audit.Action.LOGOUT, **_user_kwargs(user))


@receiver(user_login_failed, dispatch_uid="minzheng.audit.login_failed")
def audit_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    user_model = get_user_model()
    username = credentials.get(user_model.USERNAME_FIELD) or credentials.get("username") or ""
    username = str(username)[:USERNAME_LIMIT]
    detail: dict = {"username": username}
    if request is not None and getattr(request, "axes_locked_out", False):
        detail["locked_out"] = True
    # An attempt on an existing account belongs to that account's region, so its region's auditors see it;
    # attempts on unknown names carry no region and are visible to national auditors only.
    known = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first() if username else None
    audit.record(
        audit.Action.LOGIN_FAILED,
        object_type="user",
        object_id=known.pk if known else "",
        label=username,
        region_code=(getattr(known, "region_id", None) or "") if known else "",
        detail=detail,
    )

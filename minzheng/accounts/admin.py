"""Administrators manage the users of their own region subtree here, their API tokens and their login lockouts. Personal
records are not in the admin at all (see `core.admin_scope`): they are managed through the scoped, audited pages."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from minzheng.core import audit
from minzheng.core.admin_scope import ALL, AuditedAdmin, ScopedAdmin, subtree

from .models import ApiToken, User


@admin.register(User)
class MinzhengUserAdmin(ScopedAdmin, UserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "region", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "last_name", "first_name", "region__name")
    raw_id_fields = ("region",)
    # What a user may do comes from the role and the region: Django's groups and per-user permissions are not used.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("last_name", "first_name", "email")}),
        ("岗位与数据范围", {"fields": ("role", "region", "phone")}),
        ("状态", {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("岗位与数据范围", {"fields": ("role", "region", "last_name", "first_name")}),
    )
    readonly_fields = ("last_login", "date_joined")


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    scope_field = "user__region"
    list_display = ("user", "name", "hint", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "key_hash", "hint", "created_at", "last_used_at")
    actions = ["revoke"]

    def audit_region(self, obj) -> str:
        return obj.user.region_id or ""

    def has_add_permission(self, request) -> bool:
        return False  # tokens are issued by their owner, who alone sees the secret once

    @admin.action(description="吊销所选令牌")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            self._audit(request, audit.Action.TOKEN, token, "管理员吊销令牌")


# Login lockouts: the administrator unlocks the users of their subtree (deleting the attempt record). Attempts for
# names that are nobody's, and the login history (the audit log has it), are not shown.
admin.site.unregister(AccessAttempt)
# django-axes ships no Chinese: its section and model read 「AXES / Access attempts」 in the admin otherwise.
apps.get_app_config("axes").verbose_name = "登录安全"
AccessAttempt._meta.verbose_name = "登录失败锁定"
AccessAttempt._meta.verbose_name_plural = "登录失败锁定"


@admin.register(AccessAttempt)
class ScopedAccessAttemptAdmin(AuditedAdmin, AccessAttemptAdmin):
    def get_queryset(self, request):
        bounds = subtree(request)
        queryset = super().get_queryset(request)
        if bounds is None:
            return queryset.none()
        if bounds == ALL:
            return queryset
        users = User.objects.filter(region__gte=bounds[0], region__lte=bounds[1]).values("username")
        return queryset.filter(username__in=users)

    def audit_region(self, obj) -> str:
        user = User.objects.filter(username=obj.username).values_list("region_id", flat=True).first()
        return user or ""

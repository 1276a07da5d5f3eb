"""Administrators manage users here. Personal records (persons, households) are deliberately not registered in the
admin: it would bypass region scope and the audit log; they are managed through the registry pages."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ApiToken, User


@admin.register(User)
class MinzhengUserAdmin(UserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "region", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "last_name", "first_name", "region__name")
    raw_id_fields = ("region",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("岗位与数据范围", {"fields": ("role", "region", "phone")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("岗位与数据范围", {"fields": ("role", "region", "last_name", "first_name")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "hint", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "key_hash", "hint", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # tokens are issued by their owner, who alone sees the secret once

    @admin.action(description="吊销所选令牌")
    def revoke(self, request, queryset):
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())

from django.contrib import admin

from minzheng.core.admin_scope import ScopedAdmin

from .models import Region


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    """Read-only: divisions change only through `minzheng import_regions`, which keeps codes and parents consistent.
    The administrator's subtree only (what a user or a parameter of theirs may be bound to)."""

    scope_field = "code"

    list_display = ("code", "name", "level", "urban_rural", "parent")
    list_filter = ("level", "urban_rural")
    search_fields = ("code", "name")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

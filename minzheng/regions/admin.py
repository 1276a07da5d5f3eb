from django.contrib import admin

from .models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Read-only: divisions change only through `minzheng import_regions`, which keeps codes and parents consistent."""

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

from django.contrib import admin

from .models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are made by imports (page, command or API), whose files and audit entries they match."""

    list_display = (
        "source",
        "region",
        "period",
        "version",
        "file_format",
        "rows_total",
        "rows_valid",
        "rows_rejected",
        "rows_unmatched",
        "imported_by",
        "imported_at",
    )
    list_filter = ("source", "file_format")
    search_fields = ("region__code", "region__name", "original_name", "file_sha256")
    date_hierarchy = "period"
    list_select_related = ("region", "imported_by")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Admin views of monitoring: for looking things up. Warnings and sweeps are read-only here — they change only
through minzheng.monitoring.services (sweeps, visits, closing), which keep the audit trail."""

from django.contrib import admin

from .models import Alert, MonitoredEntry, Sweep, Visit


class _ReadOnly(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + [m.name for m in self.model._meta.many_to_many]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonitoredEntry)
class MonitoredEntryAdmin(_ReadOnly):
    list_display = ("person", "household", "region", "category", "start_on", "end_on", "source", "reference")
    list_filter = ("category", "source")
    search_fields = ("region__code", "region__name", "reference")
    date_hierarchy = "start_on"
    list_select_related = ("person", "household", "region")
    raw_id_fields = ("person", "household", "region")


@admin.register(Sweep)
class SweepAdmin(_ReadOnly):
    list_display = ("id", "region", "as_of", "status", "progress", "started_by", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("region__code", "region__name")
    date_hierarchy = "as_of"
    list_select_related = ("region", "started_by")


class VisitInline(admin.TabularInline):
    model = Visit
    extra = 0
    can_delete = False
    readonly_fields = ("visited_on", "finding", "notes", "needs", "visitor", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(_ReadOnly):
    list_display = (
        "number",
        "rule",
        "region",
        "suggested_outcome",
        "level",
        "status",
        "due_on",
        "outcome",
        "closed_on",
    )
    list_filter = ("status", "rule", "suggested_outcome", "level")
    search_fields = ("number", "region__code", "region__name", "signal_key")
    date_hierarchy = "raised_on"
    list_select_related = ("region",)
    inlines = [VisitInline]


@admin.register(Visit)
class VisitAdmin(_ReadOnly):
    list_display = ("alert", "visited_on", "finding", "visitor", "created_at")
    list_filter = ("finding",)
    search_fields = ("alert__number",)
    date_hierarchy = "visited_on"
    list_select_related = ("alert", "visitor")

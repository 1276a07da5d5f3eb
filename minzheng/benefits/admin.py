"""Read-only admin views of entitlements, rolls and recoveries, scoped like every page: entitlements change only
through decisions on cases, rolls only through their services."""

from django.contrib import admin

from .models import Entitlement, PaymentRoll, Recovery


class _ScopedReadOnly(admin.ModelAdmin):
    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Entitlement)
class EntitlementAdmin(_ScopedReadOnly):
    list_display = ("id", "benefit", "household", "status", "amount_fen", "start_month", "end_month", "next_review")
    list_filter = ("benefit", "status")


@admin.register(PaymentRoll)
class PaymentRollAdmin(_ScopedReadOnly):
    list_display = ("id", "county", "benefit", "month", "kind", "seq", "state", "lines_count", "total_fen")
    list_filter = ("state", "benefit", "kind")


@admin.register(Recovery)
class RecoveryAdmin(_ScopedReadOnly):
    list_display = ("id", "household", "amount_fen", "reason", "state", "detected_on")
    list_filter = ("state",)

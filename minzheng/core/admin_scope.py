"""The Django admin is for configuration only: parameters, the service catalogue, holiday years, users and their API
tokens, conflict-of-interest declarations, and the divisions (read-only).

Personal records — persons, households, cases, warnings, visits, check results, snapshots, entitlements, rolls —
are deliberately not registered: each has its pages, scoped to the user's region and audited, and a second way in
through the admin would need the same scope, masking and audit kept in step for ever. What the admin does hold is
scoped here to the administrator's region subtree (a 张家口市 administrator sees nothing of 保定市) and every change
is written to the hash-chained audit log, not only to the admin's own history.
"""

import contextlib

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from . import audit
from .scoping import audit_if_elsewhere

ALL = ("000000000000", "999999999999")  # the nation's subtree: the root's administrator


def subtree(request) -> tuple[str, str] | None:
    """The (low, high) region codes of the administrator's subtree, or None (no region: nothing in scope)."""
    user = request.user
    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    if region is None or not user.is_active:
        return None
    return region.subtree_range()


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and deletion made through the admin is also an entry in the audit log."""

    # Record each view of a change page too (for a page that shows personal data, such as a full identity number).
    audit_views = False

    def _audit(self, request, action: str, obj, message="") -> None:
        audit.record(
            action,
            user=request.user,
            object_type=self.model._meta.model_name,
            object_id=obj.pk,
            label=f"管理后台：{self.model._meta.verbose_name} {obj}"[:200],
            region_code=self.audit_region(obj),
            detail={"admin": str(message)[:1000]} if message else {},
        )

    def audit_region(self, obj) -> str:
        """The region the entry is filed under (its auditor reads it): the object's, else the administrator's."""
        region = getattr(obj, "region_id", None)
        return region or ""

    def log_addition(self, request, obj, message):
        self._audit(request, audit.Action.CREATE, obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, audit.Action.UPDATE, obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, audit.Action.DELETE, obj)
        return super().log_deletions(request, queryset)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audit_views and request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                self._audit(request, audit.Action.VIEW, obj)
        return response


def top_administrator(request) -> bool:
    """An administrator with no active administrator above them: the installation's own (the nation's, a
    province's or a city's, whatever the platform was deployed for). Only they change what holds everywhere."""
    from django.contrib.auth import get_user_model

    user = request.user
    if subtree(request) is None:
        return False
    others = (
        get_user_model()
        .objects.filter(role="admin", is_active=True, region__isnull=False)
        .exclude(region_id=user.region_id)
        .select_related("region")
    )
    return not any(other.region.contains(user.region_id) for other in others)  # a handful of administrators


class TopAdministratorOnly:
    """Configuration that holds in every region (the service catalogue and its materials, holiday years): read by
    every administrator, changed only by the installation's top administrators — a county's administrator changing
    the national 最低生活保障 item would change it for every county. For admins and their inlines alike."""

    def has_add_permission(self, request, *args) -> bool:
        return top_administrator(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return top_administrator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return top_administrator(request) and super().has_delete_permission(request, obj)


class NationalAdmin(TopAdministratorOnly, AuditedAdmin):
    pass


class ScopedAdmin(AuditedAdmin):
    """Only the rows within the administrator's region subtree, listed, opened, changed or chosen; a row outside it
    is "not found" at every admin address. `scope_field` is the path to the row's region code."""

    scope_field = "region"
    # Rows without a region (national values) are the root's administrator's only.
    national_if_null = False

    def scope(self, request) -> Q | None:
        bounds = subtree(request)
        if bounds is None:
            return None
        low, high = bounds
        within = Q(**{f"{self.scope_field}__gte": low, f"{self.scope_field}__lte": high})
        if self.national_if_null and bounds == ALL:
            within |= Q(**{f"{self.scope_field}__isnull": True})
        return within

    def get_queryset(self, request) -> QuerySet:
        within = self.scope(request)
        queryset = super().get_queryset(request)
        return queryset.none() if within is None else queryset.filter(within)

    def get_object(self, request, object_id, from_field=None):
        """A row outside the subtree is "not found", and asking for it is a denied attempt in the audit log, as on
        every page: an auditor sees an administrator who probes other regions' users."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            field = self.model._meta.get_field(from_field) if from_field else self.model._meta.pk
            with contextlib.suppress(ValueError, TypeError, ValidationError):  # not an id at all: nothing asked for
                audit_if_elsewhere(
                    request.user,
                    self.model,
                    f"管理后台：访问其他辖区的{self.model._meta.verbose_name}",
                    region_field=self.scope_field,
                    object_type=self.model._meta.model_name,
                    object_id=object_id,
                    **{field.name: field.to_python(object_id)},
                )
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A region chosen for a row (a user's, a parameter's) must be in the administrator's subtree too.
        if db_field.name == self.scope_field:
            bounds = subtree(request)
            related = db_field.related_model.objects
            kwargs["queryset"] = (
                related.none() if bounds is None else related.filter(pk__gte=bounds[0], pk__lte=bounds[1])
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# Registered by the libraries, holding no configuration of the platform's: Django's groups (roles carry what a user
# may do), django-axes' login history (the audit log keeps logins and failures, for the auditor of each region) and
# django-q's schedules, tasks and results (the schedule commands manage the schedules; each run's page shows its
# progress and failure, scoped).
UNREGISTERED = (
    "auth.Group",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    "django_q.Schedule",
    "django_q.Success",
    "django_q.Failure",
    "django_q.OrmQ",
)


def configure_site() -> None:
    """Take out what the libraries registered (called once every admin module is loaded: core's ready())."""
    from django.apps import apps

    for label in UNREGISTERED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if admin.site.is_registered(model):
            admin.site.unregister(model)


def no_view_on_site(request, rest: str = ""):
    """The admin's "view on site" redirect (admin/r/<type>/<id>/) fetches any object without region scope, and its
    two "not found" answers tell whether the object exists: not offered."""
    from django.http import Http404

    raise Http404("页面不存在")

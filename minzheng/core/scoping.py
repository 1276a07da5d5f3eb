"""Region scope, enforced in one place (ARCHITECTURE.md principle 4).

Every model holding people or their cases uses `ScopedQuerySet` and names the field holding the region code it is
scoped by. Views and API handlers fetch through `Model.objects.for_user(user)`: a range scan on that indexed code.
"""

from django.db import models

from minzheng.core.errors import NotFound


class ScopedQuerySet(models.QuerySet):
    region_field: str = "region"  # path to the Region FK (its column holds the 12-digit code)

    def for_user(self, user) -> "ScopedQuerySet":
        region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
        if region is None or not user.is_active:
            return self.none()
        low, high = region.subtree_range()
        return self.filter(**{f"{self.region_field}__gte": low, f"{self.region_field}__lte": high})

    def get_for_user(self, user, message: str = "记录不存在或不在您的管辖范围内", **lookup):
        """One object in the user's scope; out-of-scope objects look exactly like missing ones (no existence leak),
        and asking for one is audited as a denied attempt (every page and API endpoint fetches through here)."""
        return get_in(self.for_user(user), user, message, region_field=self.region_field, **lookup)


def get_in(queryset, user, message: str = "记录不存在或不在您的管辖范围内", *, region_field: str = "region", **lookup):
    """One object of a queryset already limited to what the user may see (their subtree, or a wider rule such as
    sweeps of the regions above), else NotFound. When the object exists in a region outside the user's subtree, the
    attempt is audited as denied (`audit.denied`): an auditor sees who asks for other regions' records."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        audit_if_elsewhere(
            user,
            queryset.model,
            message,
            region_field=region_field,
            object_id=lookup.get("pk", lookup.get("id", "")),
            **lookup,
        )
        raise NotFound(message) from None


def audit_if_elsewhere(
    user, model, message: str, *, region_field: str = "region", object_type: str = "", object_id="", **lookup
) -> None:
    """The user asked for the object `lookup` finds and was told it is not there: if it exists in a region outside
    the user's subtree, note the denied attempt (`audit.denied`), filed with that region."""
    elsewhere = model._default_manager.filter(**lookup).values_list(region_field, flat=True)[:1]
    # A row without a region (a national value) is nobody's other region.
    if elsewhere and elsewhere[0] is not None and not in_scope(user, str(elsewhere[0])):
        from . import audit

        audit.denied(
            user,
            "out_of_scope",
            message=message,
            object_type=object_type or getattr(model, "audit_type", model._meta.model_name),
            object_id=object_id,
            target_region=str(elsewhere[0]),
        )


def in_scope(user, region_code: str) -> bool:
    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    return region is not None and user.is_active and region.contains(region_code)

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
        """One object in the user's scope; out-of-scope objects look exactly like missing ones (no existence leak)."""
        try:
            return self.for_user(user).get(**lookup)
        except self.model.DoesNotExist:
            raise NotFound(message) from None


def in_scope(user, region_code: str) -> bool:
    region = getattr(user, "region", None)
    return region is not None and user.is_active and region.contains(region_code)

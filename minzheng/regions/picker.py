"""The region a filter names: a code picked from the division tree (templates/regions/_picker.html) or typed (full-width
digits folded), accepted only inside the user's own region."""

import unicodedata

from minzheng.core.errors import DomainError

from . import codes
from .models import Region


def picked(value: str | None, root: Region | None) -> Region | None:
    """The region `value` names if it lies under `root`; None for an empty, malformed, unknown or foreign code."""
    value = unicodedata.normalize("NFKC", value or "").strip()
    if not value or root is None:
        return None
    try:
        code = codes.canonical(value)
    except DomainError:
        return None
    region = Region.objects.filter(code=code).first()
    return region if region is not None and root.contains(region.code) else None


def relative_name(region: Region, root: Region | None) -> str:
    """张北县张北镇 under 张家口市: the names below the user's own region, down to the region."""
    below = [r for r in region.ancestors() if root is not None and root.contains(r.code) and r.code != root.code]
    return "".join(r.name for r in [*below, region])

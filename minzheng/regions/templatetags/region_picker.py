"""{% region_picker %}: a region filter filled by picking from the division tree (the tree's own htmx fragments, with
a 选择 button on each node), instead of typing a 9- or 12-digit code. The picker starts at the user's own region."""

from django import template

from minzheng.core.errors import DomainError
from minzheng.regions import codes
from minzheng.regions.models import Region

register = template.Library()


def picked(value: str, root: Region | None) -> Region | None:
    """The region a filter value names, if it lies under `root` (else None: the page ignores it too)."""
    value = (value or "").strip()
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


@register.inclusion_tag("regions/_picker.html")
def region_picker(name: str, value: str, root: Region | None, empty_label: str = "", testid: str = "") -> dict:
    region = picked(value, root)
    empty = empty_label or (f"全部（{root.name}）" if root else "全部")
    return {
        "name": name,
        "value": region.official_code if region else "",
        "label": relative_name(region, root) if region else empty,
        "empty_label": empty,
        "root": root,
        "testid": testid or f"picker-{name}",
    }

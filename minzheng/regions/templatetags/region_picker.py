"""{% region_picker %}: a region filter filled by picking from the division tree (the tree's own htmx fragments, with
a 选择 button on each node), instead of typing a 9- or 12-digit code. The picker starts at the user's own region."""

from django import template

from minzheng.regions.models import Region
from minzheng.regions.picker import picked, relative_name

register = template.Library()


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

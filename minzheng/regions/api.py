"""Division lookups: a region with its ancestors, and a region's children. Division data is public to any signed-in
user (authentication is configured globally in minzheng.api.router)."""

from django.db.models import Exists, OuterRef
from ninja import Router, Schema

from minzheng.core.errors import NotFound

from . import codes
from .models import Region

router = Router(tags=["行政区划"])


class RegionOut(Schema):
    code: str
    official_code: str
    name: str
    level: int
    level_name: str
    urban_rural: str
    has_children: bool


class RegionDetailOut(RegionOut):
    ancestors: list[RegionOut]


def _out(region: Region, has_children: bool) -> dict:
    return {
        "code": region.code,
        "official_code": region.official_code,
        "name": region.name,
        "level": region.level,
        "level_name": region.get_level_display(),
        "urban_rural": region.urban_rural,
        "has_children": has_children,
    }


def _with_has_children(qs):
    return qs.annotate(has_children=Exists(Region.objects.filter(parent=OuterRef("code"))))


def _get(code: str) -> Region:
    canonical = codes.canonical(code)  # DomainError (400) when malformed
    region = _with_has_children(Region.objects.filter(code=canonical)).first()
    if region is None:
        raise NotFound(f"区划代码“{code}”不存在", "region_not_found")
    return region


@router.get("/{code}/children", response=list[RegionOut], summary="下级区划")
def region_children(request, code: str):
    """The region's direct children in code order. `code` may be 2, 4, 6, 9 or 12 digits."""
    region = _get(code)
    children = _with_has_children(Region.objects.filter(parent=region)).order_by("code")
    return [_out(child, child.has_children) for child in children]


@router.get("/{code}", response=RegionDetailOut, summary="区划及其上级")
def region_detail(request, code: str):
    """One region with its ancestors from the province down. `code` may be 2, 4, 6, 9 or 12 digits."""
    region = _get(code)
    ancestors = region.ancestors() if region.level > codes.COUNTRY else []
    return {**_out(region, region.has_children), "ancestors": [_out(a, True) for a in ancestors]}

"""The division tree: rooted at the user's own region, children loaded lazily with htmx.

Division data is public, so any code may be browsed; only the starting point depends on the user.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from minzheng.core.errors import DomainError

from . import codes
from .models import Region


class RegionNotFound(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def find_region(raw_code: str) -> Region:
    """The region for a 2/4/6/9/12-digit code; RegionNotFound with a Chinese message when malformed or unknown."""
    try:
        code = codes.canonical(raw_code)
    except DomainError as exc:
        raise RegionNotFound(exc.message) from None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise RegionNotFound(f"区划代码“{raw_code}”不存在")
    return region


def children_of(region: Region) -> list[Region]:
    """The region's children in code order, each with `n_children` (one grouped query on the (parent, code) index)."""
    return list(Region.objects.filter(parent=region).annotate(n_children=Count("children")).order_by("code"))


def decorate(region: Region) -> Region:
    """Display attributes used by the node template."""
    region.level_name = region.get_level_display()
    if region.level == codes.VILLAGE:
        region.kind = region.get_urban_rural_display() if region.urban_rural else "未区分城乡"
    elif region.level == codes.TOWNSHIP:
        region.kind = codes.township_kind(region.code)
    else:
        region.kind = ""
    return region


def _not_found(request: HttpRequest, message: str, template: str = "regions/not_found.html") -> HttpResponse:
    return render(request, template, {"message": message}, status=404)


@login_required
def tree(request: HttpRequest, code: str | None = None) -> HttpResponse:
    if code is None and request.GET.get("code"):
        return redirect("regions:node", code=request.GET["code"].strip())
    if code is None:
        region = request.user.region or Region.objects.filter(code=codes.ROOT_CODE).first()
        if region is None:
            return _not_found(request, "尚未导入行政区划数据")
    else:
        try:
            region = find_region(code)
        except RegionNotFound as exc:
            return _not_found(request, exc.message)
    region.n_children = Region.objects.filter(parent=region).count()
    children = [decorate(child) for child in children_of(region)]
    own = request.user.region
    return render(
        request,
        "regions/tree.html",
        {
            "region": decorate(region),
            "ancestors": region.ancestors() if region.level > codes.COUNTRY else [],
            "children": children,
            "own_region": own,
            "is_own": own is not None and own.code == region.code,
        },
    )


@login_required
def children(request: HttpRequest, code: str) -> HttpResponse:
    try:
        region = find_region(code)
    except RegionNotFound as exc:
        return _not_found(request, exc.message, "regions/_not_found_fragment.html")
    return render(
        request,
        "regions/_children.html",
        {
            "parent": region,
            "children": [decorate(child) for child in children_of(region)],
            # In a region picker (templates/regions/_picker.html) each node offers 选择 instead of 以此为根.
            "pick": request.GET.get("pick") == "1",
        },
    )

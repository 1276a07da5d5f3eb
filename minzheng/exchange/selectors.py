"""Reading the exchange: which snapshots a user may list, which are in force for a check on a date, which rejects
report a user may download. Shared by the pages, the API and the engines of checks and monitoring."""

import datetime
import pathlib

from django.db.models import Min, Q

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import NotFound
from minzheng.core.models import AuditEntry
from minzheng.core.scoping import in_scope
from minzheng.regions import codes

from .files import rejects_file
from .models import Snapshot
from .sources import SOURCES


def snapshots_for(user, source: str | None = None):
    """Snapshots a user may list: those covering the user's region, a region above it, or any region under it."""
    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    if region is None or not user.is_active:
        return Snapshot.objects.none()
    low, high = region.subtree_range()
    above = [r.code for r in region.ancestors()]
    qs = Snapshot.objects.filter(Q(region__gte=low, region__lte=high) | Q(region__in=above))
    if source:
        qs = qs.filter(source=source)
    return qs.select_related("region", "imported_by")


def rejects_readable(user, relative: str) -> tuple[pathlib.Path, str]:
    """A rejects report, with the region it belongs to, for a user holding IMPORT_DATA whose region covers an import
    that produced it; anything else is NotFound (out of scope looks exactly like missing).

    The report is found through the snapshot that names it, or — when no row of the file was valid and so no
    snapshot exists — through the import's audit entry.
    """
    require(user, Capability.IMPORT_DATA)
    path = rejects_file(relative)
    regions = set(Snapshot.objects.filter(rejects_path=relative).values_list("region_id", flat=True))
    if not regions:
        regions = set(
            AuditEntry.objects.filter(object_type="snapshot", detail__rejects_path=relative).values_list(
                "region_code", flat=True
            )
        )
    allowed = sorted(code for code in regions if code and in_scope(user, code))
    if regions and not allowed:
        audit.denied(user, "out_of_scope", object_type="rejects_report", object_id=relative, target_region=min(regions))
    if not allowed or not path.is_file():
        raise NotFound("拒收报告不存在或不在您的管辖范围内", "not_found")
    return path, allowed[0]


def snapshots_in_force(region_code: str, as_of: datetime.date) -> dict[str, Snapshot | None]:
    """Per source, the newest snapshot (period, then version) on or before `as_of` whose coverage contains the
    region: a province-wide delivery serves every county in it."""
    chosen: dict[str, Snapshot | None] = dict.fromkeys(SOURCES)
    qs = Snapshot.objects.filter(
        source__in=list(SOURCES), region_id__in=codes.lineage(region_code), period__lte=as_of
    ).order_by("source", "-period", "-version", "-id")
    for snap in qs:
        if chosen[snap.source] is None:
            chosen[snap.source] = snap
    return chosen


def sources_without_data(
    region_code: str, as_of: datetime.date, chosen: dict[str, Snapshot | None]
) -> dict[str, datetime.date | None]:
    """The sources with no snapshot in force on `as_of`, each with the earliest period delivered after it (None if the
    region has no delivery of that source at all). Their rows count as none: a run dated before the data arrived
    finds every member "without data" and income nowhere, so whoever reads the results must be told."""
    missing = [code for code in SOURCES if chosen.get(code) is None]
    later = (
        Snapshot.objects.filter(source__in=missing, region_id__in=codes.lineage(region_code), period__gt=as_of)
        .order_by()
        .values("source")
        .annotate(first=Min("period"))
    )
    first = {row["source"]: row["first"] for row in later}
    return {code: first.get(code) for code in missing}

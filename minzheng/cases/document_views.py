"""Download of a case's printed notices as PDF (`cases:document`)."""

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.http import staff_view

from . import documents
from .models import Case


@staff_view
@require_safe
def case_document(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The notice `kind` of case `pk`, inline. Out-of-scope cases and notices that do not apply yet are 404;
    every download is audited as an export (a double click once)."""
    require(request.user, Capability.VIEW_PEOPLE)
    case = Case.objects.select_related("service", "household", "applicant", "region__parent__parent").get_for_user(
        request.user, pk=pk
    )
    pdf = documents.render(case, kind)
    audit.record_once(audit.Action.EXPORT, user=request.user, obj=case, detail={"document": kind})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(documents.filename(case, kind), safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response

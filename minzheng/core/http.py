"""Turning service errors into HTTP answers for server-rendered views (a refusal is audited as a denied attempt:
another region's record by the scoped query, a refused action here)."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from . import audit
from .errors import NotFound, PermissionDeniedError


def staff_view(view):
    """Login required; a NotFound from a service is a 404 page and a refused capability a 403 page."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDeniedError as exc:
            audit.denied(request.user, "forbidden", message=exc.message)
            raise PermissionDenied(exc.message) from None

    return wrapper


def run_progress(request, run, *, progress_url: str, what: str):
    """The shared progress partial of a batch run; polled by htmx while the run works, and when it has finished the
    page is reloaded once to show its results. Runs whose worker died are marked failed first."""
    from django.shortcuts import render

    from .runs import fail_stale

    if run.status == run.Status.RUNNING and fail_stale(type(run).objects.filter(pk=run.pk)):
        run.refresh_from_db()
    response = render(request, "runs/_progress.html", {"run": run, "progress_url": progress_url, "what": what})
    if request.headers.get("HX-Request") and not run.active:
        response["HX-Refresh"] = "true"
    return response

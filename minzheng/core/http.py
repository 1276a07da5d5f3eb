"""Turning service errors into HTTP answers for server-rendered views (a refusal is audited as a denied attempt:
another region's record by the scoped query, a refused action here)."""

import functools
import re

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


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def not_found(request, exception=None):
    """The 404 page (`handler404`): the service's own message, written for people in Chinese, or the general one —
    never an exception's class name (Django passes 「Resolver404」 or 「Http404」 when there is no message) nor
    Django's English 「No … matches the given query.」."""
    from django.http import JsonResponse
    from django.shortcuts import render

    message = exception.args[0] if exception is not None and exception.args else ""
    message = message if isinstance(message, str) and _CHINESE.search(message) else ""
    if request.path.startswith("/api/"):  # an API client reads {code, message}, as from every endpoint
        return JsonResponse({"code": "not_found", "message": message or "接口或记录不存在"}, status=404)
    return render(request, "404.html", {"exception": message}, status=404)


def rerun(url: str, **fields) -> dict:
    """The detail page's context for re-running a failed run: a POST of the run's own parameters to the page that
    starts runs of its kind (rendered by runs/_rerun.html inside the progress partial)."""
    return {"rerun_url": url, "rerun_fields": [(k, str(v)) for k, v in fields.items()]}


def run_progress(request, run, *, progress_url: str, what: str):
    """The shared progress partial of a batch run; polled by htmx while the run works, and when it has finished the
    page is reloaded once to show its results. Runs whose worker died are marked failed first."""
    from django.shortcuts import render

    from .runs import refresh_stale

    run = refresh_stale(run)
    response = render(request, "runs/_progress.html", {"run": run, "progress_url": progress_url, "what": what})
    if request.headers.get("HX-Request") and not run.active:
        response["HX-Refresh"] = "true"
    return response

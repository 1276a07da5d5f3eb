"""Turning service errors into HTTP answers for server-rendered views."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

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
            raise PermissionDenied(exc.message) from None

    return wrapper

"""Keeps the current request's user and client address at hand for the audit log, and records the request's denied
attempts once it is answered."""

import contextvars
from dataclasses import dataclass

from django.utils.cache import add_never_cache_headers

_current: contextvars.ContextVar["RequestContext | None"] = contextvars.ContextVar("minzheng_request", default=None)


@dataclass(frozen=True)
class RequestContext:
    ip: str
    user_agent: str
    path: str


def current_request_context() -> "RequestContext | None":
    return _current.get()


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it, and a deployment
    # behind such a proxy sets REMOTE_ADDR from it in the proxy's WSGI configuration.
    return request.META.get("REMOTE_ADDR", "") or ""


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(
            RequestContext(
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
                path=request.path[:200],
            )
        )
        from .audit import deferred_denials, denials_noted, denied

        try:
            # Denied attempts noted while answering are recorded after the response is made, outside any transaction
            # of the view's; a 403 that noted none (a CSRF failure, a view's own refusal) is recorded here.
            with deferred_denials():
                response = self.get_response(request)
                if response.status_code == 403 and not denials_noted():
                    denied(getattr(request, "user", None), "forbidden", message=f"{request.method} {request.path}")
            return response
        finally:
            _current.reset(token)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page and API answer: nearly all of them show personal data, and none is
    worth a copy in a shared browser's cache or a proxy. Static files (served by WhiteNoise, earlier in the chain)
    keep their long caching; a view that sets its own Cache-Control keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response

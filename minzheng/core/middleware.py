"""Keeps the current request's user and client address at hand for the audit log."""

import contextvars
from dataclasses import dataclass

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
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)

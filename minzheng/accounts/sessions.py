"""Renewing a signed-in session's idle timeout without a database write on every request."""

import time

from django.conf import settings

TOUCHED = "_renewed_at"


class SessionRenewalMiddleware:
    """Staff sessions end after SESSION_COOKIE_AGE of inactivity. Django's SESSION_SAVE_EVERY_REQUEST renews the
    expiry by rewriting the session row on every request — three round trips (BEGIN, UPDATE, COMMIT) on each page
    and API call. Here the session is rewritten only when it was last renewed more than SESSION_RENEW_SECONDS ago,
    so the idle timeout holds to within that margin (30 minutes, less at most one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a session that exists and was read by this request (a signed-in user's): never create one.
        if session is not None and session.session_key and session.accessed and not session.is_empty():
            now = int(time.time())
            if now - session.get(TOUCHED, 0) >= settings.SESSION_RENEW_SECONDS:
                session[TOUCHED] = now  # marks it modified: SessionMiddleware saves it with a fresh expiry
        return response

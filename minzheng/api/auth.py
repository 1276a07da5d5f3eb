"""API authentication: a per-user bearer token, or the browser session (with CSRF, enforced by ninja)."""

from ninja.security import HttpBearer, django_auth

from minzheng.accounts.models import ApiToken


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request, token: str):
        user = ApiToken.authenticate(token)
        if user is not None:
            request.user = user
        return user


api_auth = [TokenAuth(), django_auth]

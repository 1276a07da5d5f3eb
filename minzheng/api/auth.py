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


def docs_login_required(view):
    """The API's documentation and OpenAPI schema: for signed-in staff (the session) or a holder of a valid token, not
    for anyone on the network (they list every endpoint and field). Pages go to the login page, the schema answers
    401 in the API's error shape."""
    import functools

    from django.contrib.auth.views import redirect_to_login
    from django.http import JsonResponse

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            header = request.headers.get("Authorization", "")
            user = ApiToken.authenticate(header[7:].strip()) if header.lower().startswith("bearer ") else None
            if user is None:
                if request.path.endswith(".json"):
                    return JsonResponse({"code": "unauthenticated", "message": "未登录或令牌无效"}, status=401)
                return redirect_to_login(request.get_full_path())
            request.user = user
        return view(request, *args, **kwargs)

    return wrapper

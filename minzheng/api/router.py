"""The /api/v1/ entry point: routers from each app, one error shape (4xx JSON with a Chinese message and a code)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from minzheng.core import audit
from minzheng.core.errors import DomainError, PermissionDeniedError

from .auth import api_auth, docs_login_required

api = NinjaAPI(
    title="民政一体化服务平台 API",
    version="1",
    description="所有接口均需认证（Bearer 令牌或登录会话），数据范围限于用户所属区划。错误返回 {code, message}。",
    auth=api_auth,
    urls_namespace="api",
    docs_decorator=docs_login_required,
)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    if isinstance(exc, PermissionDeniedError):
        # Another region's record was audited by the scoped query; a refused action is audited here.
        audit.denied(request.user, "forbidden", message=exc.message)
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(request, {"code": "unauthenticated", "message": "未登录或令牌无效"}, status=401)


# Chinese messages for pydantic's error types (the English original is kept as `detail` for developers).
_PYDANTIC_MESSAGES = {
    "missing": "必须填写",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_type": "应为是或否",
    "bool_parsing": "应为是或否",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "json_invalid": "不是有效的JSON",
    "string_too_long": "过长",
    "extra_forbidden": "不是可接受的字段",
}


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    fields = []
    for err in exc.errors:
        loc = ".".join(str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload"))
        message = _PYDANTIC_MESSAGES.get(err.get("type", ""), "格式不正确")
        fields.append({"field": loc, "message": f"{loc or '请求'}{message}", "detail": err.get("msg", "")})
    return api.create_response(
        request, {"code": "invalid_request", "message": "请求数据格式不正确", "errors": fields}, status=422
    )


@api.exception_handler(DjangoValidationError)
def django_validation_error(request, exc: DjangoValidationError):
    return api.create_response(request, {"code": "invalid", "message": "；".join(exc.messages)}, status=400)


def _register_routers() -> None:
    from minzheng.accounts.api import router as accounts_router
    from minzheng.benefits.api import router as benefits_router
    from minzheng.cases.api import router as cases_router
    from minzheng.exchange.api import router as exchange_router
    from minzheng.monitoring.api import router as monitoring_router
    from minzheng.regions.api import router as regions_router
    from minzheng.registry.api import router as registry_router
    from minzheng.simulation.api import router as simulation_router

    api.add_router("/regions", regions_router)
    api.add_router("/registry", registry_router)
    api.add_router("/accounts", accounts_router)
    api.add_router("/cases", cases_router)
    # Departments push to /api/v1/checks/…: the exchange keeps that address.
    api.add_router("/checks", exchange_router)
    api.add_router("/monitoring", monitoring_router)
    api.add_router("/benefits", benefits_router)
    api.add_router("/simulation", simulation_router)


_register_routers()

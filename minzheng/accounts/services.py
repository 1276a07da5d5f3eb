"""API token lifecycle: issue (shown once) and revoke; both audited."""

import datetime

from django.utils import timezone

from minzheng.core import audit
from minzheng.core.errors import DomainError, NotFound

from .models import ApiToken

MAX_TOKEN_DAYS = 366


def issue_token(user, name: str, days: int | None = 90) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写令牌用途", "required", field="name")
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise DomainError(f"有效期应为1至{MAX_TOKEN_DAYS}天", "invalid", field="days")
    expires = timezone.now() + datetime.timedelta(days=days) if days else None
    token, raw = ApiToken.issue(user, name[:100], expires_at=expires)
    audit.record(audit.Action.TOKEN, user=user, obj=token, detail={"issued": True, "expires_at": expires})
    return token, raw


def revoke_token(user, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(audit.Action.TOKEN, user=user, obj=token, detail={"revoked": True})
    return token

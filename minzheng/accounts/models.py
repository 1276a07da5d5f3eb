import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from minzheng.regions.models import Region

from .roles import ROLE_LEVELS, Role


class User(AbstractUser):
    """A staff member, bound to one region: everything they see and do is limited to that region's subtree."""

    role = models.CharField("角色", max_length=20, choices=Role.choices)
    region = models.ForeignKey(Region, verbose_name="所属区划", on_delete=models.PROTECT, null=True, related_name="+")
    phone = models.CharField("联系电话", max_length=20, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用户"

    def clean(self) -> None:
        super().clean()
        if self.role and self.region_id:
            allowed = ROLE_LEVELS.get(self.role, set())
            if self.region.level not in allowed:
                names = "、".join(Region.Level(lv).label for lv in sorted(allowed))
                raise ValidationError({"region": f"{self.get_role_display()}只能绑定到{names}区划"})

    @property
    def display_name(self) -> str:
        return (self.last_name + self.first_name) or self.username


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A per-user, revocable API token. Only its SHA-256 is stored; the token is shown once, at creation."""

    audit_type = "api_token"

    PREFIX = "mz_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField("尾号", max_length=8)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "API令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (…{self.hint})"

    @classmethod
    def issue(cls, user, name: str, expires_at=None) -> tuple["ApiToken", str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=_hash_token(raw), hint=raw[-6:], expires_at=expires_at
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str):
        if not raw or not raw.startswith(cls.PREFIX):
            return None
        token = cls.objects.active().select_related("user", "user__region").filter(key_hash=_hash_token(raw)).first()
        if token is None or not token.user.is_active:
            return None
        cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

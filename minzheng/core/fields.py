"""Model fields the apps declare the same way."""

from django.conf import settings
from django.db import models


def staff(verbose_name: str, *, required: bool = False, **kwargs) -> models.ForeignKey:
    """The staff member who did something to a row (recorded, imported, started, closed it). Kept when the account is
    deactivated (PROTECT); optional where the system acts too (schedules, imports from the command line)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=not required,
        blank=not required,
        on_delete=models.PROTECT,
        related_name="+",
        **kwargs,
    )

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "minzheng.accounts"
    label = "accounts"
    verbose_name = "账户与权限"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the sign-in audit receivers)

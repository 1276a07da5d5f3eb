from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "minzheng.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        # The admin has loaded every app's admin module by now (django.contrib.admin comes first).
        from .admin_scope import configure_site

        configure_site()

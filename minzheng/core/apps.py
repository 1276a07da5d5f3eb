from django.apps import AppConfig


def _worker_started(sender, proc_name: str = "", **kwargs) -> None:
    """A `minzheng qcluster` worker came up: make sure the every-minute check for interrupted runs is scheduled."""
    from .runs import ensure_stale_schedule

    ensure_stale_schedule()


class CoreConfig(AppConfig):
    name = "minzheng.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        # The admin has loaded every app's admin module by now (django.contrib.admin comes first).
        from django_q.signals import post_spawn

        from . import ids
        from .admin_scope import configure_site

        configure_site()
        ids.register()  # `<id:pk>` in every urls.py: ids beyond the bigint range are a 404, never a query
        post_spawn.connect(_worker_started, dispatch_uid="minzheng.core.stale_runs")

from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "minzheng.checks"
    verbose_name = "家庭经济状况核对"

    def ready(self) -> None:
        # The case procedure's 信息核对 step runs this app's engine; cases (a layer below) only knows the interface.
        from minzheng.cases import checking

        from . import services

        checking.register(services.check_case, services.changed_parameters)

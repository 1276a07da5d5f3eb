from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "minzheng.checks"
    verbose_name = "家庭经济状况核对"

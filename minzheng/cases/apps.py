from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "minzheng.cases"
    label = "cases"
    verbose_name = "受理与办理"

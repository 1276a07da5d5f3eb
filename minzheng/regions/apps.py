from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "minzheng.regions"
    label = "regions"
    verbose_name = "行政区划"

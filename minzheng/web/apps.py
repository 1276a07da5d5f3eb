from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "minzheng.web"
    verbose_name = "工作台与审计页面"

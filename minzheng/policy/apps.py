from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "minzheng.policy"
    label = "policy"
    verbose_name = "政策参数与事项"

from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "minzheng.benefits"
    verbose_name = "待遇与发放"

    def ready(self) -> None:
        # Entitlements follow the decisions on cases; cases (a layer below) only sends the signal.
        from minzheng.cases import decisions

        from . import entitlements

        decisions.decided.connect(entitlements.on_decided, dispatch_uid="benefits.entitlements")

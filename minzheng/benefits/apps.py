from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "minzheng.benefits"
    verbose_name = "待遇与发放"

    def ready(self) -> None:
        # Entitlements follow the decisions on cases; cases (a layer below) only sends the signal.
        from minzheng.cases import decisions

        from . import entitlements

        decisions.decided.connect(entitlements.on_decided, dispatch_uid="benefits.entitlements")

        # Cases approved before this app existed get their entitlements when the database is migrated.
        from django.db.models.signals import post_migrate

        from . import backfill

        post_migrate.connect(backfill.after_migrate, sender=self, dispatch_uid="benefits.backfill")

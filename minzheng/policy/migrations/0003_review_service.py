from django.db import migrations


def seed(apps, schema_editor):
    from minzheng.policy.loader import load_catalogue

    load_catalogue(apps.get_model("policy", "ServiceItem"), apps.get_model("policy", "Material"))


class Migration(migrations.Migration):
    """The catalogue gains 低保、特困对象动态复核 (the re-check a monitoring warning leads to)."""

    dependencies = [("policy", "0002_seed_catalogue")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

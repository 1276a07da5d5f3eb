from django.db import migrations


def seed(apps, schema_editor):
    from minzheng.policy.loader import load_catalogue

    load_catalogue(apps.get_model("policy", "ServiceItem"), apps.get_model("policy", "Material"))


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

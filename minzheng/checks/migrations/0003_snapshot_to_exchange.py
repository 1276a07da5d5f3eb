# The check runs' snapshots are the exchange app's model now (same table): state only, no SQL.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checks', '0002_alter_snapshot_source'),
        ('exchange', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='checkrun',
                    name='snapshots',
                    field=models.ManyToManyField(blank=True, related_name='runs', to='exchange.snapshot', verbose_name='读取的快照'),
                ),
            ],
            database_operations=[],
        ),
    ]

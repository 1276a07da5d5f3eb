# The sweeps' snapshots are the exchange app's model now (same table): state only, no SQL.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0001_initial'),
        ('exchange', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='sweep',
                    name='snapshots',
                    field=models.ManyToManyField(blank=True, related_name='sweeps', to='exchange.snapshot', verbose_name='读取的信号快照'),
                ),
            ],
            database_operations=[],
        ),
    ]

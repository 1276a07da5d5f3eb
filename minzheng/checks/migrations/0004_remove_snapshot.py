# The checks app no longer owns the snapshot model (the exchange app does, same table): state only, no SQL.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('checks', '0003_snapshot_to_exchange'),
        ('monitoring', '0002_snapshot_to_exchange'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Snapshot')],
            database_operations=[],
        ),
    ]

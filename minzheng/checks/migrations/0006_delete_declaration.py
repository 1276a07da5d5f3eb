# The investigation's findings moved to cases (cases 0004 renamed the table): only the state changes here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('checks', '0005_run_heartbeat'),
        ('cases', '0004_investigation_declaration'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Declaration')],
            database_operations=[],
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('backups', '0003_backup_doors'),
    ]

    operations = [
        migrations.AddField(
            model_name='restore',
            name='paths',
            field=models.JSONField(blank=True, default=list, help_text='The chosen paths (as shown, e.g. /sub/file.txt) to restore, each replaced alone while the rest of the volume stays; empty: the whole archive.'),
        ),
    ]

"""Every minute, beat runs `backups.job_reap`: jobs whose worker died are marked failed and
their helper containers, staging volumes and paused or stopped containers are cleaned up."""
from django.db import migrations


def add(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(name="dockerweb: reap backup jobs of dead workers",
                                          defaults={"task": "backups.job_reap", "interval": every, "enabled": True})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="backups.job_reap").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add, remove)]

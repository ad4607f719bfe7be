from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "dockerweb.backups"
    label = "backups"

    def ready(self):
        from dockerweb.core.jobs import job_kind

        from .models import Backup, Restore

        for model in (Backup, Restore):
            job_kind(model, task_for="dockerweb.backups.tasks.task_for",
                     cleanup_of="dockerweb.backups.services.job_cleanup")

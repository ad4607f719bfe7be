from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dockerweb.audit"
    label = "audit"

    def ready(self):
        from dockerweb.core.jobs import job_kind

        from .models import Audit

        job_kind(Audit, task_for="dockerweb.audit.tasks.task_for")

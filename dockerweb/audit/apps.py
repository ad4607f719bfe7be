from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dockerweb.audit"
    label = "audit"

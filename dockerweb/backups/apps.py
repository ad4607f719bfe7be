from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "dockerweb.backups"
    label = "backups"

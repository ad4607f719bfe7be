from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dockerweb.core"
    label = "core"
    verbose_name = "dockerweb core"

from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "dockerweb.engine"
    label = "engine"
    verbose_name = "Docker engines"
